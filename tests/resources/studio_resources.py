"""Where the studio-stack resources live (shared by the tests in this folder)."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"

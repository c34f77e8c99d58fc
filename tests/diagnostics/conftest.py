"""Fixtures for the diagnostics tests (the planted workstation lives in bundle_fixtures)."""

from __future__ import annotations

from bundle_fixtures import planted

__all__ = ["planted"]

"""Helpers the tray app's tests import (a plain module: ``conftest`` is not importable by
name when several test folders each have one)."""

from __future__ import annotations

from pathlib import Path

from timeline_telemetry.config import parse_config

__all__ = ["make_config"]


def make_config(tmp_path: Path, *, max_used: float = 0.9999) -> object:
    """A small config: 1 s collection, no exporters, one disk check on tmp_path."""
    data = {"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": [],
                    "collectors": {"gpu": False}},
        "tracing": {"enabled": False},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "1s", "checks": [
            {"DiskSpace": {"name": "scratch-disk", "path": str(tmp_path),
                           "max_used_fraction": max_used,
                           "warning_margin": 0.0001 if max_used > 0.5 else max_used / 2}},
        ]},
    }}
    return parse_config(data, source="test", base_dir=tmp_path)

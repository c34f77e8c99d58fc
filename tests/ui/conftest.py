"""Fixtures for the tray app's tests: Qt offscreen, a real manager on tmp paths, the app parts.

QT_QPA_PLATFORM is set before Qt is imported by anything in this folder.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("PYTEST_QT_API", "pyside6")

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_support import make_config

from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(config_dir=tmp_path / "config", data_dir=tmp_path / "data",
                    log_dir=tmp_path / "logs").ensure()


@pytest.fixture
def manager(tmp_path: Path, paths: AppPaths) -> Iterator[TelemetryManager]:
    mgr = TelemetryManager(make_config(tmp_path), paths=paths)  # type: ignore[arg-type]
    mgr.initialize(start_loop=False)
    yield mgr
    mgr.shutdown()


@pytest.fixture
def failing_manager(tmp_path: Path, paths: AppPaths) -> Iterator[TelemetryManager]:
    cfg = make_config(tmp_path, max_used=0.0001)
    mgr = TelemetryManager(cfg, paths=paths)  # type: ignore[arg-type]
    mgr.initialize(start_loop=False)
    yield mgr
    mgr.shutdown()

"""Fixtures shared by every test folder: an isolated app home and a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_OUR_ENV = ("TIMELINE_TELEMETRY_HOME", "TELEMETRY_CONFIG", "TELEMETRY_ENABLED", "PROMETHEUS_PORT")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's config, data or keyring, nor our env overrides."""
    saved = {k: os.environ.get(k) for k in (*_OUR_ENV, "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                            "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    base = tmp_path_factory.mktemp("xdg")
    for k in _OUR_ENV:
        os.environ.pop(k, None)
    for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        os.environ[k] = str(base / k.lower())
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def app_home(tmp_path: Path) -> Path:
    """A TIMELINE_TELEMETRY_HOME for this test (config/, data/, logs/ below it)."""
    home = tmp_path / "home"
    home.mkdir()
    return home

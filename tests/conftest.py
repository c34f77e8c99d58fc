"""Fixtures shared by every test folder: an isolated app home and a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import PROMETHEUS, PrometheusServer, start_prometheus

_OUR_ENV = ("TIMELINE_TELEMETRY_HOME", "TELEMETRY_CONFIG", "TELEMETRY_ENABLED", "PROMETHEUS_PORT")
#: The OTel SDK variables the agent honours: a developer's own must not leak into tests.
_OTEL_ENV = tuple(k for k in os.environ if k.startswith("OTEL_"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's config, data or keyring, nor our env overrides."""
    saved = {
        k: os.environ.get(k)
        for k in (*_OUR_ENV, "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    base = tmp_path_factory.mktemp("xdg")
    for k in _OUR_ENV:
        os.environ.pop(k, None)
    saved.update({k: os.environ.pop(k, None) for k in _OTEL_ENV})
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


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[list[str]], PrometheusServer]]:
    """Start ``prometheus`` scraping the given ``host:port`` targets every second."""
    if PROMETHEUS is None:
        pytest.skip("needs the Debian 'prometheus' package (apt-get install prometheus)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(targets: list[str]) -> PrometheusServer:
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: timeline\n    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: {json.dumps(targets)}\n"
        )
        server, proc = start_prometheus(cfg, tmp_path)
        procs.append(proc)
        return server

    try:
        yield start
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)

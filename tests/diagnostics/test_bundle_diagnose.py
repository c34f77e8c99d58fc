"""diagnose.json and threads.txt: from the running agent's API (the CLI's path) or its
runtime (the tray's path), and left out when no agent runs."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from bundle_fixtures import fake_run

from support import free_port
from timeline_telemetry.config import TelemetryConfig, parse_config
from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.diagnostics.live import agent_api_providers, runtime_providers
from timeline_telemetry.diagnostics.providers import Providers
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.runtime.client import read_live


def _config(tmp_path: Path, refused: int) -> TelemetryConfig:
    return parse_config({"telemetry": {
        "metrics": {"collection_interval": "1s", "history": {"enabled": False},
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "tracing": {"exporters": [{"Otlp": {
            "endpoint": f"http://user:hunter2@127.0.0.1:{refused}?api_key=hunter2",
            "headers": {"X-Api-Key": "hunter2"}}}]},
        "health": {"checks": []},
        "alerts": {"enabled": False},
    }}, source="test", base_dir=tmp_path)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[AgentRuntime, AppPaths]]:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    rt = AgentRuntime(_config(tmp_path, free_port()), paths, mode="headless")
    rt.start()
    yield rt, paths
    rt.stop()


def _bundle(tmp_path: Path, rt: AgentRuntime, paths: AppPaths,
            providers: Providers) -> dict[str, bytes]:
    result = build_bundle(config=rt.config, paths=paths, out=tmp_path / "b.zip", since_s=600,
                          providers=providers, environ={}, psutil_mod=psutil, run=fake_run,
                          process_sample_s=0.0)
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _check(files: dict[str, bytes]) -> None:
    diag = json.loads(files["diagnose.json"])
    (otlp,) = diag["probes"]
    assert otlp["ok"] is False and otlp["error"].startswith("TCP: connect to 127.0.0.1:")
    assert otlp["endpoint"].startswith("http://127.0.0.1:")
    assert diag["receiver"]["received"]["spans"] == 0
    threads = files["threads.txt"].decode()
    assert "Thread MainThread" in threads and "telemetry-" in threads
    everything = b"".join(files.values())
    assert b"hunter2" not in everything


def test_the_cli_bundle_takes_diagnose_and_threads_from_the_api(
        tmp_path: Path, agent: tuple[AgentRuntime, AppPaths]) -> None:
    rt, paths = agent
    live = read_live(paths.data_dir)
    assert live is not None and live.info.api is not None
    files = _bundle(tmp_path, rt, paths,
                    agent_api_providers(live, paths.data_dir / "alerts.sqlite3"))
    _check(files)
    assert "telemetry-http-conn" in files["threads.txt"].decode()


def test_the_tray_bundle_takes_them_from_its_runtime(
        tmp_path: Path, agent: tuple[AgentRuntime, AppPaths]) -> None:
    rt, paths = agent
    _check(_bundle(tmp_path, rt, paths, runtime_providers(Providers(), rt)))


def test_without_a_running_agent_they_are_left_out(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l").ensure()
    config = _config(tmp_path, free_port())
    result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", since_s=600,
                          providers=Providers(), environ={}, psutil_mod=psutil, run=fake_run,
                          process_sample_s=0.0, run_health_checks=False)
    assert {"what": "diagnose.json", "why": "the agent is not running"} in result.left_out
    assert {"what": "threads.txt", "why": "the agent is not running"} in result.left_out
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        assert "diagnose.json" not in zf.namelist() and "threads.txt" not in zf.namelist()

"""Live bundle data: from a running TelemetryManager (the tray's path) and, without one, a
one-off health round."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psutil
from bundle_fixtures import fake_run

from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import build_bundle, manager_providers, one_off_health
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths


def _config(tmp_path: Path):
    return parse_config({"telemetry": {
        "metrics": {"exporters": [], "history": {"enabled": False}},
        "ingest": {"otlp": {"enabled": False}},
        "health": {"checks": [{"Memory": {"max_used_fraction": 1.0, "warning_margin": 0.0}}]},
    }}, source="test", base_dir=tmp_path)


def test_bundle_from_a_running_manager(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    config = _config(tmp_path)
    manager = TelemetryManager(config, paths=paths)
    manager.initialize()
    try:
        manager.collect_once()
        assert manager.health is not None
        manager.health.check_all(force=True)
        result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip",
                              since_s=600, preview=False, progress=None,
                              providers=manager_providers(manager), environ={},
                              psutil_mod=psutil, run=fake_run, process_sample_s=0.0)
    finally:
        manager.shutdown()
    with zipfile.ZipFile(result.path) as zf:  # type: ignore[arg-type]
        snapshot = zf.read("metrics/snapshot.prom").decode()
        health = json.loads(zf.read("health.json"))
        status = json.loads(zf.read("export_status.json"))
    assert "# TYPE system_memory_total_bytes gauge" in snapshot
    assert health["source"] == "the running agent"
    assert "memory" in health["current"]["checks"]
    assert any(t["component"] == "memory" for t in health["transitions"])
    assert isinstance(status, dict)


def test_one_off_health_runs_the_configured_checks(tmp_path: Path) -> None:
    data = one_off_health(_config(tmp_path), tmp_path)()
    assert isinstance(data, dict)
    assert list(data["current"]["checks"]) == ["memory"]  # type: ignore[index]
    assert data["transitions"] == []

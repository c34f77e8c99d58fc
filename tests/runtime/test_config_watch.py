"""The config file watch in-process, with alerting off: no rules to apply, so a change is
said to take effect at restart (once), and a broken file is reported and the config kept."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from support import wait_for
from timeline_telemetry.config import TelemetryConfig, load_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime


def _write(path: Path, interval: str) -> None:
    path.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": interval, "exporters": []},
        "ingest": {"otlp": {"port": 0}}, "health": {"enabled": False},
        "alerts": {"enabled": False}}}))


def test_config_changes_without_alerting(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                         ) -> None:
    cfg = tmp_path / "c.json"
    _write(cfg, "30m")
    config: TelemetryConfig = load_config(cfg)
    rt = AgentRuntime(config, AppPaths.resolve(
        {"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}), mode="headless",
        config_source=lambda: load_config(cfg))
    caplog.set_level(logging.INFO, logger="timeline_telemetry")
    rt.start()
    try:
        assert rt.manager.alerts is None and "rules" in rt.scheduler.jobs
        _write(cfg, "40m")
        rt.scheduler.wake("rules")
        wait_for(lambda: "takes effect at restart" in caplog.text, timeout=10,
                 what="the restart note")
        assert "telemetry.metrics.collection_interval takes effect at restart" in caplog.text
        cfg.write_text('{"telemetry": {\n  "metrics": }\n')
        rt.scheduler.wake("rules")
        wait_for(lambda: "cannot be used" in caplog.text, timeout=10, what="the error")
        assert f"{cfg}: invalid JSON at line 2" in caplog.text
        rules = rt.status()["rules"]
        assert isinstance(rules, dict) and rules["ok"] is False
        assert rt.config.metrics.collection_interval == 1800  # the running config stays
        _write(cfg, "40m")  # fixed, the same pending change: not said again
        rt.scheduler.wake("rules")
        wait_for(lambda: rt.status()["rules"] is None, timeout=10, what="the fix")
        assert caplog.text.count("takes effect at restart") == 1
    finally:
        rt.stop()

"""`bundle` with the agent stopped still carries the alert history, read from its store."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from timeline_telemetry.alerts.store import AlertEvent, AlertStore
from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import run_bundle_command
from timeline_telemetry.paths import AppPaths


def test_alerts_json_from_the_store_of_a_stopped_agent(tmp_path: Path) -> None:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}).ensure()
    store = AlertStore(paths.data_dir / "alerts.sqlite3")
    now = time.time()
    store.record([AlertEvent(now - 60, "HighCPUUsage", {"alertname": "HighCPUUsage",
                                                        "severity": "warning"},
                             "firing", 93.0, {"summary": "High CPU usage detected"})])
    store.close()
    cfg = parse_config({"telemetry": {"health": {"checks": []},
                                      "ingest": {"otlp": {"enabled": False}}}},
                       source="test", base_dir=tmp_path)
    out = tmp_path / "b.zip"
    code = run_bundle_command(cfg, paths, out=out, since_s=3600, preview=False,
                              stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    with zipfile.ZipFile(out) as z:
        alerts = json.loads(z.read("alerts.json"))
    text = json.dumps(alerts)
    assert "HighCPUUsage" in text and "firing" in text

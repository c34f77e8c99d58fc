"""Exporter failures and health transitions read back from the agent's JSON-lines log."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from timeline_telemetry.diagnostics.agent_events import agent_log_events
from timeline_telemetry.logsetup import JsonLineFormatter

T0 = 1_796_000_000.0
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def _log(path: Path, *messages: tuple[float, str]) -> None:
    fmt = JsonLineFormatter()
    lines = []
    for created, msg in messages:
        rec = logging.LogRecord("timeline_telemetry.runtime", logging.WARNING, __file__, 1,
                                msg, None, None)
        rec.created = created
        lines.append(fmt.format(rec))
    path.write_text("\n".join(lines) + "\n{torn", encoding="utf-8")


def test_the_logged_exporters_and_transitions_in_the_window(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    _log(log,
         (T0 + 1000, "exporter old:one is failing: before the window"),
         (T0 + 2000, "health: media drive Unknown -> Unhealthy: drive nearly full: 98% used"),
         (T0 + 2001, "exporter traces:otlp:127.0.0.1:9 is failing: cannot reach it"),
         (T0 + 2002, "exporter logs:otlp is degraded: slow"),
         (T0 + 2003, "exporter logs:otlp recovered (was Degraded(slow))"),
         (T0 + 2004, "health: exporters Healthy -> Warning: 1 of 2 exporters not healthy"),
         (T0 + 2005, "something else entirely"))
    events = agent_log_events([tmp_path / "absent.log", log], start=T0 + 1500)
    assert set(events.exporters) == {"traces:otlp:127.0.0.1:9", "logs:otlp"}
    failed = events.exporters["traces:otlp:127.0.0.1:9"]
    assert failed["state"] == "Failed" and failed["last_error"] == "cannot reach it"
    assert RFC3339.match(str(failed["last_error_at"]))
    recovered = events.exporters["logs:otlp"]
    assert recovered["state"] == "Healthy" and recovered["last_error"] == "slow"
    assert [(t["component"], t["old"], t["new"]) for t in events.transitions] == [
        ("media drive", "Unknown", "Unhealthy"), ("exporters", "Healthy", "Warning")]
    assert json.dumps(events.transitions)  # JSON-able as health.json's transitions

"""A reload applies the alerting part of the config, not only the rules: actions added,
changed and removed, ``evaluation_interval``; against a recording HTTP server through the
runtime's own reload (as SIGHUP, ``POST /-/reload`` and a config change run it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_helpers import Capture

from timeline_telemetry.config import parse_config
from timeline_telemetry.config.schema import TelemetryConfig
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

RULES = """\
groups:
  - name: g
    rules:
      - alert: MemUsed
        expr: system_memory_usage_bytes > 0
        labels: {severity: warning}
"""


def _config(tmp: Path, hooks: dict[str, str], interval: str = "1h") -> TelemetryConfig:
    return parse_config({"telemetry": {
        "metrics": {"collection_interval": "1h", "exporters": []},
        "ingest": {"otlp": {"port": 0}}, "health": {"enabled": False},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": interval,
                   "desktop_notifications": False,
                   "actions": [{"Webhook": {"name": n, "url": u, "format": "generic"}}
                               for n, u in hooks.items()]},
    }}, source=str(tmp / "c.json"), base_dir=tmp)


class Source:
    """The runtime's ``config_source``: returns whatever the test set last."""

    def __init__(self, config: TelemetryConfig) -> None:
        self.config = config

    def __call__(self) -> TelemetryConfig:
        return self.config


@pytest.fixture
def started(tmp_path: Path, capture_server: Capture) -> Iterator[tuple[AgentRuntime, Source]]:
    (tmp_path / "rules.yml").write_text(RULES)
    first = _config(tmp_path, {"hook": capture_server.url + "/a"})
    source = Source(first)
    rt = AgentRuntime(first, AppPaths.resolve(
        {"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}), mode="headless",
        config_source=source)
    rt.start()
    try:
        yield rt, source
    finally:
        rt.stop()


def _heard(cap: Capture, n: int) -> list[tuple[str, str]]:
    bodies = cap.wait(n)
    assert len(bodies) == n, bodies
    return [(p, b["status"]) for p, b in zip(cap.paths, bodies, strict=True)]


def test_reload_applies_changed_added_and_removed_actions_and_the_interval(
    started: tuple[AgentRuntime, Source], tmp_path: Path, capture_server: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt, source = started
    alerts = rt.manager.alerts
    assert alerts is not None
    t0 = time.time()
    alerts.evaluate(t0)
    assert _heard(capture_server, 1) == [("/a", "firing")]

    # "hook" moves to /b, "extra" is new, the evaluation interval changes.
    source.config = _config(tmp_path, {"hook": capture_server.url + "/b",
                                       "extra": capture_server.url + "/c"}, "30m")
    with caplog.at_level(logging.INFO, "timeline_telemetry.runtime"):
        result = rt.reload(trigger="test")
    assert result.ok, result.error
    assert "takes effect at restart" not in caplog.text
    assert "alert actions and settings applied" in caplog.text
    assert set(alerts.actions) == {"hook", "extra"}
    assert alerts.interval_s == 1800 and rt.scheduler.interval("alerts") == 1800
    extra = alerts.actions["extra"]

    alerts.evaluate(t0 + 60)  # the new receivers hear what fires now; /a nothing more
    assert sorted(_heard(capture_server, 3)[1:]) == [("/b", "firing"), ("/c", "firing")]

    # The same config again: the queues stay, and so does what they heard (nothing twice).
    assert rt.reload(trigger="test").ok
    assert alerts.actions["extra"] is extra
    alerts.evaluate(t0 + 120)
    for q in alerts.actions.values():
        assert q.flush(10)
    assert len(capture_server.bodies) == 3

    # "hook" removed: only "extra" hears the resolve.
    source.config = _config(tmp_path, {"extra": capture_server.url + "/c"}, "30m")
    assert rt.reload(trigger="test").ok
    assert set(alerts.actions) == {"extra"} and alerts.actions["extra"] is extra
    (tmp_path / "rules.yml").write_text("groups: []\n")
    assert rt.reload(trigger="test").ok
    alerts.evaluate(t0 + 180)
    assert _heard(capture_server, 4)[3] == ("/c", "resolved")

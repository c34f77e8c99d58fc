"""Alerting wired into the runtime: rules over the real history, evaluated on the runtime's
schedule, notify through the desktop action (an event on the runtime's bus), and the
tray's view can snooze what fires."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime, AlertNotice, RuntimeEvent

RULES = """
groups:
  - name: test
    rules:
      - alert: AgentAlive
        expr: telemetry_agent_memory_rss_bytes > 0
        labels: {severity: warning}
        annotations: {summary: "agent uses {{ $value | humanize }}B"}
"""


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.statuses: list[str] = []
        self.lock = threading.Lock()

    def notify(self, title: str, body: str, *, severity: str, key: str,
               status: str = "firing") -> None:
        with self.lock:
            self.calls.append((title, body, severity))
            self.statuses.append(status)

    def on_event(self, event: RuntimeEvent) -> None:
        if isinstance(event, AlertNotice):
            self.notify(event.title, event.body, severity=event.severity, key=event.key,
                        status="firing" if event.firing else "resolved")


@pytest.fixture
def manager(tmp_path: Path):
    (tmp_path / "rules.yml").write_text(RULES)
    cfg = parse_config(
        {"telemetry": {
            "metrics": {"collection_interval": "100ms", "exporters": []},
            "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "100ms"},
            "health": {"enabled": False},
            "ingest": {"otlp": {"enabled": False}},
        }},
        source="test", base_dir=tmp_path,
    )
    rec = Recorder()
    runtime = AgentRuntime(
        cfg, AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}),
        mode="headless",
    )
    runtime.events.subscribe(rec.on_event)
    runtime.start()
    try:
        yield runtime.manager, rec
    finally:
        runtime.stop()


def test_rule_fires_and_notifies(manager) -> None:
    mgr, rec = manager
    wait_for(lambda: rec.calls, timeout=30, what="a notification")
    title, _body, severity = rec.calls[0]
    assert title.startswith("agent uses ") and title.endswith("B") and severity == "warning"
    assert rec.statuses[0] == "firing"
    assert mgr.alerts is not None
    assert [a.name for a in mgr.alerts.firing()] == ["AgentAlive"]
    snap = mgr.metrics.snapshot()
    firing = {s.labels: s.value for s in snap.flat_samples() if s.name == "alerts_firing"}
    assert firing[(("alertname", "AgentAlive"), ("severity", "warning"))] == 1.0
    dumped = mgr.alerts.to_json()
    assert dumped["active"] and dumped["rule_errors"] == {}


def test_tray_view_snoozes_an_alert(manager) -> None:
    pytest.importorskip("PySide6")
    from timeline_telemetry.ui.alerts_adapter import AlertManagerView

    mgr, rec = manager
    wait_for(lambda: rec.calls, timeout=30, what="a notification")
    view = AlertManagerView(mgr.alerts)
    rows = view.list_active()
    assert [(r.name, r.state) for r in rows] == [("AgentAlive", "firing")]
    # Its "firing" event is history, but the view's history is of resolved alerts only:
    # the Alerts tab lists active + history, and must not count this alert twice.
    assert mgr.alerts.history() and view.history(50) == []
    view.snooze(rows[0].key, 900)
    assert [r.state for r in view.list_active()] == ["silenced"]
    assert len(mgr.alerts.silences()) == 1


def test_the_desktop_action_tells_the_notifier_the_status() -> None:
    from timeline_telemetry.alerts.actions.base import Notification, NotifierSender

    rec = Recorder()
    sender = NotifierSender(rec)
    for status in ("firing", "resolved"):
        sender.send(Notification("k", "t", "b", "warning", status), timeout_s=1)
    assert rec.statuses == ["firing", "resolved"]

"""Alertmanager re-sends, replayed end to end: the real OpenTelemetry SDK pushes the gauge
that drives a rule into a running agent (``AgentRuntime``: its OTLP receiver, history and
alert evaluator), whose Alertmanager action posts to Debian's real Alertmanager with a short
``resolve_timeout``. An alert posted once without ``endsAt`` (what the agent used to send)
expires there; the agent's alert, re-sent every ``resend_delay``, stays active, and the
resolve the SDK's next value causes ends it."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alerts_helpers import RESOLVE_TIMEOUT_S

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

RULES = """\
groups:
  - name: render
    rules:
      - alert: RenderQueueBacklog
        expr: render_queue_depth > 5
        labels: {severity: warning}
        annotations: {summary: "render queue at {{ $value }}"}
"""


@pytest.fixture
def runtime(tmp_path: Path, alertmanager_short: str) -> Iterator[AgentRuntime]:
    (tmp_path / "rules.yml").write_text(RULES)
    config = parse_config({"telemetry": {
        "metrics": {"collection_interval": "200ms", "exporters": [],
                    "collectors": {"gpu": False}},
        "tracing": {"enabled": False}, "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "250ms",
                   "resend_delay": "1s", "desktop_notifications": False,
                   "actions": [{"Alertmanager": {"url": alertmanager_short}}]},
    }}, source=str(tmp_path / "c.json"), base_dir=tmp_path)
    rt = AgentRuntime(config, AppPaths.resolve(
        {"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}), mode="headless")
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


class Editor:
    """The editor's side: one gauge, pushed with the SDK's OTLP/HTTP protobuf exporter."""

    def __init__(self, endpoint: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
            export_interval_millis=3_600_000)  # pushed by push() only
        self.provider = MeterProvider(
            resource=Resource({"service.name": "timeline-studio",
                               "service.instance.id": "editor-1"}),
            metric_readers=[reader], shutdown_on_exit=False)
        self.gauge = self.provider.get_meter("editor").create_gauge("render_queue_depth")

    def push(self, value: float) -> None:
        self.gauge.set(value)
        assert self.provider.force_flush(10_000)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _alerts(url: str, alertname: str) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/alerts?silenced=false&inhibited=false",
                                    timeout=2) as r:
            got = json.loads(r.read() or b"[]")
    except (OSError, ValueError):
        return []
    return [a for a in got if a["labels"].get("alertname") == alertname]


def _active(url: str, alertname: str) -> bool:
    return any(a["status"]["state"] == "active" for a in _alerts(url, alertname))


def _post_once_without_ends_at(url: str) -> None:
    body = json.dumps([{"labels": {"alertname": "Control", "severity": "warning"},
                        "startsAt": datetime.now().astimezone().isoformat()}]).encode()
    req = urllib.request.Request(f"{url}/api/v2/alerts", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def test_an_sdk_driven_alert_outlives_resolve_timeout_and_resolves_in_alertmanager(
    runtime: AgentRuntime, alertmanager_short: str,
) -> None:
    editor = Editor(runtime.listeners()["otlp-receiver"])
    try:
        editor.push(12.0)
        wait_for(lambda: _active(alertmanager_short, "RenderQueueBacklog"), timeout=30,
                 what="the SDK-driven alert active in Alertmanager")
        # Posted once, after ours was: once it has expired (resolve_timeout), an alert the
        # agent posted once would have expired too. Ours was re-sent and stays active.
        _post_once_without_ends_at(alertmanager_short)
        wait_for(lambda: _active(alertmanager_short, "Control"), timeout=10, what="control active")
        wait_for(lambda: not _active(alertmanager_short, "Control"), timeout=6 * RESOLVE_TIMEOUT_S,
                 what="the control alert expired by resolve_timeout")
        assert _active(alertmanager_short, "RenderQueueBacklog")
        (ours,) = _alerts(alertmanager_short, "RenderQueueBacklog")
        assert ours["labels"]["job"] == "timeline-studio"
        assert ours["annotations"]["summary"] == "render queue at 12"

        editor.push(1.0)  # the backlog clears: the agent posts endsAt = now
        wait_for(lambda: not _active(alertmanager_short, "RenderQueueBacklog"), timeout=10,
                 what="resolved in Alertmanager")
        alerts = runtime.manager.alerts
        assert alerts is not None and alerts.firing() == []
    finally:
        editor.shutdown()

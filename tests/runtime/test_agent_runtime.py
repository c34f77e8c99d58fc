"""AgentRuntime in-process: the one start, the jobs, pause, the exporter watch, the API."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.export.base import ExportResult, ExportStatus
from timeline_telemetry.metrics import Snapshot
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import (
    AgentRuntime,
    AlreadyRunning,
    ExporterChanged,
    HealthChanged,
    PausedChanged,
    RuntimeEvent,
    find_running,
)

RULES = """
groups:
  - name: t
    rules:
      - alert: DiskBad
        expr: system_health_status > 2
        labels: {severity: critical}
"""


def _config(tmp: Path, **telemetry: Any) -> Any:
    (tmp / "rules.yml").write_text(RULES)
    body: dict[str, Any] = {
        "metrics": {"collection_interval": "100ms",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "200ms", "checks": [
            {"DiskSpace": {"name": "scratch", "path": str(tmp),
                           "max_used_fraction": 0.0001, "warning_margin": 0.00005}}]},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "1h"},
    }
    body.update(telemetry)
    return parse_config({"telemetry": body}, source=str(tmp / "c.json"), base_dir=tmp)


def _paths(tmp: Path) -> AppPaths:
    return AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp / "home")})


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[AgentRuntime]:
    rt = AgentRuntime(_config(tmp_path), _paths(tmp_path), mode="headless")
    rt.start()
    yield rt
    rt.stop()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_a_health_transition_wakes_the_hourly_evaluator(runtime: AgentRuntime) -> None:
    alerts = runtime.manager.alerts
    assert alerts is not None
    # The first round turns the check Unhealthy; the rule over it fires without waiting
    # for its hour-long interval.
    wait_for(lambda: [a.name for a in alerts.firing()] == ["DiskBad"], timeout=20,
             what="the alert after the transition")
    assert alerts.evaluations >= 2


def test_the_api_serves_status_alerts_rules_and_health(runtime: AgentRuntime) -> None:
    api = runtime.api_url
    assert api is not None and api.startswith("http://127.0.0.1:")
    wait_for(lambda: _get(f"{api}/alerts")["data"]["alerts"], timeout=20, what="an alert")
    st = _get(f"{api}/status")
    assert st["status"] == "success"
    data = st["data"]
    assert data["mode"] == "headless" and data["paused"] is False
    assert set(data["listeners"]) == {"prometheus", "health", "otlp-receiver", "api"}
    assert data["exporters"]["prometheus"]["state"] == "Healthy"
    assert data["jobs"]["collect"]["runs"] >= 1
    assert data["jobs"]["collect"]["total_cpu_seconds"] > 0
    # this request's own connection is open on the API's listener; nothing was refused
    assert data["connections"]["prometheus"]["open"] >= 1
    assert {c["refused"] for c in data["connections"].values()} == {0}
    assert set(data["connections"]) == {"prometheus", "otlp-receiver"}
    assert data["received"] == {"spans": 0, "metric_points": 0, "log_records": 0}
    health = _get(f"{api}/health")["data"]
    assert any(t["component"] == "scratch" for t in health["transitions"])
    rules = _get(f"{api}/rules")["data"]["groups"][0]["rules"]
    assert rules[0]["name"] == "DiskBad" and rules[0]["type"] == "alerting"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(f"{api}/status", method="POST"),
                               timeout=5)
    assert err.value.code == 405
    err.value.close()
    info = find_running(runtime.paths.data_dir)
    assert info is not None and info.api == api


def test_pause_holds_collection_and_resume_runs_it_at_once(runtime: AgentRuntime) -> None:
    events: list[RuntimeEvent] = []
    runtime.events.subscribe(events.append)
    mgr = runtime.manager
    runtime.pause()
    before = mgr.collections
    assert not mgr.wait_for_collections(before + 3, timeout_s=0.6)
    runtime.resume()
    assert mgr.wait_for_collections(before + 2, timeout_s=10)
    assert [e.paused for e in events if isinstance(e, PausedChanged)] == [True, False]


def test_a_second_runtime_on_the_same_home_is_refused(tmp_path: Path,
                                                     runtime: AgentRuntime) -> None:
    other = AgentRuntime(_config(tmp_path), _paths(tmp_path), mode="tray")
    with pytest.raises(AlreadyRunning, match=r"headless \(pid \d+"):
        other.start()


def test_a_failed_start_leaves_no_lock_and_no_state(tmp_path: Path) -> None:
    from timeline_telemetry.net.http_server import PortInUseError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg = _config(tmp_path, metrics={"exporters": [{"Prometheus": {"port": port}}]})
        rt = AgentRuntime(cfg, _paths(tmp_path), mode="headless")
        with pytest.raises(PortInUseError):
            rt.start()
    assert find_running(_paths(tmp_path).data_dir) is None
    ok = AgentRuntime(_config(tmp_path), _paths(tmp_path), mode="headless")
    ok.start()
    ok.stop()


class Flaky:
    """A push exporter whose health the test sets."""

    name = "flaky"

    def __init__(self) -> None:
        self.state = ExportStatus.healthy()

    def start(self) -> None:
        pass

    def export(self, snapshot: Snapshot) -> ExportResult:
        return ExportResult.SUCCESS

    def status(self) -> ExportStatus:
        return self.state

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        pass


def test_an_exporter_failure_and_its_recovery_are_logged_once_each(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky()
    cfg = _config(tmp_path, health={"enabled": False}, alerts={"enabled": False})
    rt = AgentRuntime(cfg, _paths(tmp_path), mode="headless", exporters=[flaky])
    events: list[RuntimeEvent] = []
    rt.events.subscribe(events.append)
    logger = logging.getLogger("timeline_telemetry")
    old_propagate = logger.propagate
    logger.propagate = True
    caplog.set_level(logging.INFO, logger="timeline_telemetry.runtime")
    rt.start()
    try:
        flaky.state = ExportStatus.failed("connection refused")
        wait_for(lambda: "exporter flaky is failing: connection refused" in caplog.text,
                 timeout=10, what="the failure line")
        flaky.state = ExportStatus.healthy()
        wait_for(lambda: "exporter flaky recovered" in caplog.text, timeout=10,
                 what="the recovery line")
        wait_for(lambda: rt.scheduler.stats()["exporters"].runs >= 3, timeout=10,
                 what="more watch rounds")
        last = rt.export_status()
    finally:
        rt.stop()
        logger.propagate = old_propagate
    assert caplog.text.count("exporter flaky is failing") == 1
    assert caplog.text.count("exporter flaky recovered") == 1
    changes = [(e.name, e.new.state.value) for e in events if isinstance(e, ExporterChanged)]
    assert changes == [("flaky", "Failed"), ("flaky", "Healthy")]
    assert last["flaky"]["last_error"] == "connection refused"


def test_subscribed_before_start_the_first_rounds_transitions_are_seen(
        tmp_path: Path) -> None:
    rt = AgentRuntime(_config(tmp_path), _paths(tmp_path), mode="tray")
    seen: list[str] = []
    rt.events.subscribe(lambda e: seen.append(e.transition.component)
                        if isinstance(e, HealthChanged) else None)
    rt.start()
    try:
        wait_for(lambda: "scratch" in seen, timeout=10, what="the first round's transition")
    finally:
        rt.stop()


def test_a_trace_exporter_pointing_at_the_own_receiver_does_not_loop(tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _config(tmp_path, ingest={"otlp": {"port": port}}, health={"enabled": False},
                  alerts={"enabled": False},
                  tracing={"enabled": True, "exporters": [
                      {"Otlp": {"endpoint": f"http://127.0.0.1:{port}"}}]})
    rt = AgentRuntime(cfg, _paths(tmp_path), mode="headless")
    rt.start()
    try:
        tp = TracerProvider(shutdown_on_exit=False)
        tp.add_span_processor(SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")))
        with tp.get_tracer("t").start_as_current_span("render"):
            pass
        tp.shutdown()

        def failed() -> str | None:
            st = rt.export_status()
            return next((str(e["detail"]) for n, e in st.items()
                         if n.startswith("traces:otlp:") and e["state"] == "Failed"), None)

        detail = wait_for(failed, timeout=20, what="the looping exporter to fail")
        assert "loop" in detail
        received = rt.status()["received"]
        refused = rt.manager.metrics.current_values("telemetry_otlp_loop_refused_total")
    finally:
        rt.stop()
    assert received == {"spans": 1, "metric_points": 0, "log_records": 0}
    assert refused == [1.0]


def test_the_self_budget_back_off_stretches_the_health_rounds(runtime: AgentRuntime) -> None:
    from timeline_telemetry.budget import BudgetDecision

    budget = runtime.manager.budget
    assert budget is not None
    runtime.pause()  # no collection overwrites the decision meanwhile
    budget.decision = BudgetDecision(4, True, False, "over budget")
    runtime._apply_budget()
    slots = runtime.scheduler._slots  # the job's interval, as the scheduler holds it
    assert slots["health"].job.interval_s == pytest.approx(0.8)
    budget.decision = BudgetDecision(1, False, False, "")
    runtime._apply_budget()
    assert slots["health"].job.interval_s == pytest.approx(0.2)


def test_the_editor_logs_are_followed_by_the_runtimes_logs_job(tmp_path: Path) -> None:
    """``telemetry.logs`` following the editor's log files is a job of the one scheduler (its
    runs counted, stopped with the others), not a thread of its own."""
    import threading

    from timeline_telemetry.logs import ECS_FILE_NAME

    editor_log = tmp_path / "editor.log"
    editor_log.write_text("before the start\n")
    rt = AgentRuntime(_config(tmp_path, editor={"log_globs": [str(editor_log)]}),
                      _paths(tmp_path), mode="headless")
    rt.start()
    try:
        assert "logs" in rt.scheduler.jobs
        with editor_log.open("a") as fh:
            fh.write("ERROR render failed: encoder crashed\n")
        ecs = rt.paths.log_dir / ECS_FILE_NAME
        wait_for(lambda: ecs.exists() and "encoder crashed" in ecs.read_text(), timeout=20,
                 what="the editor's line in the ECS file")
        assert rt.scheduler.stats()["logs"].runs >= 1
        assert "agent-logs" not in {t.name for t in threading.enumerate()}
    finally:
        rt.stop()
    assert "before the start" not in ecs.read_text()

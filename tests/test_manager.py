"""TelemetryManager end to end in-process: real collectors, real SQLite history, real files."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from support import wait_for
from timeline_telemetry.collectors.base import Sample
from timeline_telemetry.config import parse_config
from timeline_telemetry.export.base import ExportState
from timeline_telemetry.export.file import read_otlp_json_lines
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime


def make_config(tmp_path: Path, **metrics: Any) -> Any:
    body: dict[str, Any] = {
        "collection_interval": "50ms",
        "retention_period": "1h",
        "exporters": [{"File": {"path": "out/metrics.jsonl"}}],
    }
    body.update(metrics)
    return parse_config(
        {
            "telemetry": {
                "metrics": body,
                "editor": {"process_names": ["no-such-editor-xyz"]},
                "ingest": {"otlp": {"port": 0}},
            }
        },
        source="test",
        base_dir=tmp_path,
    )


def paths_for(tmp_path: Path) -> AppPaths:
    return AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})


class Boom:
    name = "boom"
    families = frozenset({"boom_reading"})

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> Sequence[Sample]:
        self.calls += 1
        raise RuntimeError("sensor unplugged")

    def close(self) -> None:
        pass


class Fixed:
    name = "fixed"
    families = frozenset({"queue_size"})

    def __init__(self, value: float = 42.0) -> None:
        self.value = value
        self.closed = False

    def collect(self) -> Sequence[Sample]:
        return [Sample("queue_size", self.value, (("queue", "render"),))]

    def close(self) -> None:
        self.closed = True


def series_value(snapshot: Any, name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
    for s in snapshot.flat_samples():
        if s.name == name and s.labels == labels:
            return float(s.value)
    raise AssertionError(f"{name}{labels} not in snapshot")


def test_failing_collector_is_counted_and_others_still_run(tmp_path: Path) -> None:
    boom, fixed = Boom(), Fixed()
    mgr = TelemetryManager(
        make_config(tmp_path), paths=paths_for(tmp_path), collectors=[boom, fixed]
    )
    mgr.initialize()
    try:
        mgr.collect_once()
        snap = mgr.collect_once()
    finally:
        mgr.shutdown()
    assert boom.calls >= 2
    assert series_value(snap, "queue_size", (("queue", "render"),)) == 42.0
    assert series_value(snap, "telemetry_collector_errors_total", (("collector", "boom"),)) == 2
    assert fixed.closed


def test_real_collectors_history_and_file_export(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    paths = paths_for(tmp_path)
    runtime = AgentRuntime(cfg, paths, mode="headless")
    runtime.start()
    try:
        mgr = runtime.manager
        assert mgr.wait_for_collections(3, timeout_s=20)
        status = mgr.get_export_status()
        snap = mgr.last_snapshot
    finally:
        runtime.stop()
    assert snap is not None
    assert series_value(snap, "system_memory_available_bytes") > 0
    assert 0 <= series_value(snap, "system_cpu_usage_percent") <= 100
    assert series_value(snap, "editor_up") == 0
    assert status["file:metrics.jsonl"].state is ExportState.HEALTHY
    assert status["otlp-receiver"].state is ExportState.HEALTHY
    lines = list(read_otlp_json_lines(tmp_path / "out" / "metrics.jsonl"))
    assert len(lines) >= 3
    names = {
        m.name for rm in lines[-1].resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    assert "system_memory_usage_bytes" in names


def test_history_survives_restart(tmp_path: Path) -> None:
    paths = paths_for(tmp_path)
    fixed = Fixed(7.0)
    mgr = TelemetryManager(make_config(tmp_path), paths=paths, collectors=[fixed])
    mgr.initialize()
    mgr.collect_once()
    first_ts = time.time()
    mgr.shutdown()

    fixed2 = Fixed(9.0)
    mgr2 = TelemetryManager(make_config(tmp_path), paths=paths, collectors=[fixed2])
    mgr2.initialize()
    try:
        mgr2.collect_once()
        assert mgr2.history is not None
        series = mgr2.history.query(
            "queue_size", {"queue": "render"}, start=first_ts - 60, end=time.time() + 1
        )
    finally:
        mgr2.shutdown()
    values = [v for s in series for _, v in s.points]
    assert 7.0 in values and 9.0 in values


def test_disabled_is_a_no_op(tmp_path: Path) -> None:
    cfg = parse_config({"telemetry": {"enabled": False}}, source="test", base_dir=tmp_path)
    paths = paths_for(tmp_path)
    with TelemetryManager(cfg, paths=paths) as mgr:
        mgr.metrics.increment_counter("videos_processed_total")
        assert mgr.metrics.snapshot().families == ()
        assert mgr.get_export_status() == {}
    assert not (tmp_path / "home").exists()


def test_stop_collects_once_more_and_flushes(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, collection_interval="1h")
    runtime = AgentRuntime(cfg, paths_for(tmp_path), mode="headless", collectors=[Fixed()])
    runtime.start()
    mgr = runtime.manager
    assert mgr.wait_for_collections(1, timeout_s=10)
    mgr.metrics.increment_counter("videos_processed_total", 5)
    runtime.stop()
    last = list(read_otlp_json_lines(tmp_path / "out" / "metrics.jsonl"))[-1]
    got = {m.name: m for rm in last.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert got["videos_processed_total"].sum.data_points[0].as_double == 5.0


def test_failed_start_leaves_nothing_running(tmp_path: Path) -> None:
    import socket

    from timeline_telemetry.net.http_server import PortInUseError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg = make_config(tmp_path, exporters=[{"Prometheus": {"port": port}}])
        mgr = TelemetryManager(cfg, paths=paths_for(tmp_path))
        with pytest.raises(PortInUseError, match=str(port)):
            mgr.initialize()
    assert mgr.history is None and mgr.exporters == []


def test_process_check_reads_what_the_editor_collector_sees(tmp_path: Path) -> None:
    """One source of truth: the Process check agrees with ``editor_up`` at every round."""
    import subprocess
    import sys
    import uuid

    from timeline_telemetry.health import HealthStatus

    name = f"ts-editor-{uuid.uuid4().hex[:8]}"
    cfg = parse_config(
        {"telemetry": {
            "metrics": {"collection_interval": "1s", "exporters": [],
                        "collectors": {"process_rescan_interval": "100ms", "gpu": False}},
            "editor": {"process_names": [name]},
            "health": {"checks": [{"Process": {}}]},
            "ingest": {"otlp": {"enabled": False}},
        }},
        source="test", base_dir=tmp_path,
    )
    mgr = TelemetryManager(cfg, paths=paths_for(tmp_path))
    mgr.initialize()
    editor: subprocess.Popen[bytes] | None = None

    def round_status() -> HealthStatus:
        assert mgr.health is not None
        return mgr.health.check_all(force=True).results["process"].status

    try:
        assert round_status() is HealthStatus.UNKNOWN  # the collector has not looked yet
        assert series_value(mgr.collect_once(), "editor_up") == 0
        assert round_status() is HealthStatus.UNHEALTHY
        editor = subprocess.Popen([name, "-c", "import sys; sys.stdin.read()"],
                                  executable=sys.executable, stdin=subprocess.PIPE)
        # Seen at a collection once the collector's rescan (every 100 ms) is due.
        wait_for(lambda: series_value(mgr.collect_once(), "editor_up") == 1, timeout=10,
                 what="editor_up 1 after the rescan")
        assert round_status() is HealthStatus.HEALTHY  # the next round, not a minute later
        assert editor.stdin is not None
        editor.stdin.close()
        editor.wait(10)
        assert series_value(mgr.collect_once(), "editor_up") == 0
        assert round_status() is HealthStatus.UNHEALTHY
    finally:
        if editor is not None and editor.poll() is None:
            editor.kill()
            editor.wait(10)
        mgr.shutdown()

"""FileExporter on real files: lines read back, rotation, torn tails, SIGKILL, write errors."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from support import sample_metrics, wait_for
from timeline_telemetry.export.base import ExportResult, ExportState, MetricsExporter
from timeline_telemetry.export.file import (
    FileExporter,
    read_otlp_json_lines,
    repair_torn_tail,
    rotated_files,
)
from timeline_telemetry.metrics import Metrics

RESOURCE = {"service.name": "timeline-studio", "service.version": "1.0.0", "host.name": "ws"}


def make(path: Path, **kw: int) -> FileExporter:
    exp = FileExporter(path=path, resource=RESOURCE, start_time=1_700_000_000.0, **kw)
    exp.start()
    return exp


def gauge_value(req: ExportMetricsServiceRequest, name: str) -> float:
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == name:
                    return float(m.gauge.data_points[0].as_double)
    raise KeyError(name)


def test_lines_parse_back_with_opentelemetry_proto(tmp_path: Path) -> None:
    path = tmp_path / "out" / "metrics.json"  # the folder is created
    exp = make(path)
    assert isinstance(exp, MetricsExporter)
    m = sample_metrics()
    for i in range(3):
        m.set_gauge("queue_size", i, {"queue": "render"})
        assert exp.export(m.snapshot()) is ExportResult.SUCCESS
    raw = path.read_text().splitlines()
    assert len(raw) == 3
    first = json_format.Parse(raw[0], ExportMetricsServiceRequest())
    attrs = {kv.key: kv.value.string_value for kv in first.resource_metrics[0].resource.attributes}
    assert attrs == RESOURCE
    reqs = list(read_otlp_json_lines(path))
    assert [gauge_value(r, "queue_size") for r in reqs] == [0.0, 1.0, 2.0]
    assert gauge_value(reqs[0], "system_swap_total_bytes") == 123456789.0
    assert str(exp.status()) == "Healthy" and exp.lines_written == 3 and exp.errors == 0
    assert exp.describe().startswith(f"writing metrics to {path}")


def test_rotation_keeps_every_line_and_drops_the_oldest_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    m = Metrics()
    m.set_gauge("queue_size", 0)
    probe = make(tmp_path / "probe.json")
    probe.export(m.snapshot())
    line_len = (tmp_path / "probe.json").stat().st_size
    exp = make(path, max_bytes=line_len * 3, backups=2)  # 3 lines a file
    for i in range(7):
        m.set_gauge("queue_size", i)
        assert exp.export(m.snapshot()) is ExportResult.SUCCESS
    files = rotated_files(path, 2)
    assert [f.name for f in files] == ["metrics.json.2", "metrics.json.1", "metrics.json"]
    assert all(f.stat().st_size <= line_len * 3 for f in files)
    seen = [gauge_value(r, "queue_size") for f in files for r in read_otlp_json_lines(f)]
    assert seen == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # nothing lost, in order
    for i in range(7, 10):
        m.set_gauge("queue_size", i)
        exp.export(m.snapshot())
    seen = [gauge_value(r, "queue_size") for f in rotated_files(path, 2)
            for r in read_otlp_json_lines(f)]
    # 9 rotated once more: the oldest file (0..2) was dropped
    assert seen == [float(i) for i in range(3, 10)]
    assert not (tmp_path / "metrics.json.3").exists()
    assert exp.rotations == 3


def test_a_line_larger_than_max_bytes_is_still_written(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    exp = make(path, max_bytes=10, backups=1)
    snap = sample_metrics().snapshot()
    exp.export(snap)
    exp.export(snap)
    assert len(list(read_otlp_json_lines(path))) == 1
    assert len(list(read_otlp_json_lines(tmp_path / "m.json.1"))) == 1


def test_reader_skips_a_torn_last_line_but_not_a_bad_middle_one(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    exp = make(path)
    exp.export(sample_metrics().snapshot())
    exp.export(sample_metrics().snapshot())
    good = path.read_bytes()
    path.write_bytes(good + good[:37])  # a write cut short
    assert len(list(read_otlp_json_lines(path))) == 2
    path.write_bytes(good[:37] + b"\n" + good)
    with pytest.raises(ValueError, match=r"m\.json:1: not an OTLP/JSON metrics line"):
        list(read_otlp_json_lines(path))
    assert len(list(read_otlp_json_lines(path, skip_invalid=True))) == 2


def test_start_cuts_a_torn_tail_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "m.json"
    make(path).export(sample_metrics().snapshot())
    good = path.read_bytes()
    path.write_bytes(good + b'{"resourceMetrics":[{"reso')
    with caplog.at_level(logging.WARNING, logger="timeline_telemetry.export.file"):
        exp = make(path)
    assert path.read_bytes() == good
    assert "torn line" in caplog.text and "26 bytes" in caplog.text
    exp.export(sample_metrics().snapshot())
    assert len(list(read_otlp_json_lines(path))) == 2


def test_repair_of_a_file_that_is_only_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b"x" * 200_000)  # longer than one backwards read
    assert repair_torn_tail(path) == 200_000
    assert path.read_bytes() == b""
    assert repair_torn_tail(path) == 0
    assert repair_torn_tail(tmp_path / "absent.json") == 0


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from timeline_telemetry.export.file import FileExporter
    from timeline_telemetry.metrics import Metrics

    m = Metrics()
    for i in range(300):  # a few hundred series: lines of tens of kB
        m.set_gauge("queue_size", i, {"queue": f"q{i}", "padding": "x" * 64})
    exp = FileExporter(path=Path(sys.argv[1]), resource={"service.name": "t"},
                       start_time=0.0, max_bytes=10**9)
    exp.start()
    i = 0
    while True:
        m.increment_counter("frames_processed_total", 1)
        exp.export(m.snapshot())
        i += 1
""")


@pytest.mark.slow
def test_sigkill_during_export_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        def lines() -> int:
            return path.read_bytes().count(b"\n") if path.exists() else 0

        wait_for(lambda: lines() > 40, timeout=60, what="the writer to write 40 lines")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    data = path.read_bytes()
    complete = data.count(b"\n")
    reqs = list(read_otlp_json_lines(path))
    assert len(reqs) == complete > 40  # every complete line, at most a torn tail skipped
    totals = [m.sum.data_points[0].as_double for r in reqs
              for m in r.resource_metrics[0].scope_metrics[0].metrics
              if m.name == "frames_processed_total"]
    assert totals == [float(i) for i in range(1, complete + 1)]
    # A restarted exporter repairs whatever tail the kill left and appends cleanly.
    exp = make(path)
    assert path.read_bytes() == data[: data.rfind(b"\n") + 1]
    exp.export(sample_metrics().snapshot())
    assert len(list(read_otlp_json_lines(path))) == complete + 1


def test_unwritable_path_fails_and_recovers(tmp_path: Path) -> None:
    # Tests run as root, where chmod does not stop writes: a parent that is a regular
    # file does.
    blocker = tmp_path / "logs"
    blocker.write_text("not a folder")
    path = blocker / "metrics.json"
    exp = make(path)
    assert exp.status().state is ExportState.FAILED
    snap = sample_metrics().snapshot()
    assert exp.export(snap) is ExportResult.FAILURE
    status = exp.status()
    assert status.state is ExportState.FAILED
    assert "NotADirectoryError" in status.detail or "FileExistsError" in status.detail
    assert exp.errors == 2
    blocker.unlink()  # fixed: the next export creates the folder and writes
    assert exp.export(snap) is ExportResult.SUCCESS
    assert str(exp.status()) == "Healthy"
    assert len(list(read_otlp_json_lines(path))) == 1


def test_failures_after_success_degrade_then_fail(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    path = folder / "metrics.json"
    exp = make(path)
    snap = sample_metrics().snapshot()
    assert exp.export(snap) is ExportResult.SUCCESS
    shutil.rmtree(folder)
    folder.write_text("now a file")
    states = []
    for _ in range(3):
        assert exp.export(snap) is ExportResult.FAILURE
        states.append(exp.status().state)
    assert states == [ExportState.DEGRADED, ExportState.DEGRADED, ExportState.FAILED]
    folder.unlink()
    assert exp.export(snap) is ExportResult.SUCCESS
    assert str(exp.status()) == "Healthy"
    assert exp.errors == 3


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full")
def test_disk_full_is_reported() -> None:
    exp = make(Path("/dev/full"))  # every write fails with ENOSPC, as on a full disk
    assert exp.export(sample_metrics().snapshot()) is ExportResult.FAILURE
    assert exp.status().state is ExportState.FAILED
    assert "No space left on device" in exp.status().detail
    assert exp.errors == 1

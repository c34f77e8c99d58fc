"""The trace File exporter and the receiver's logs file on a full disk: whole records only,
errors counted and shown in the status, writing resumed by itself (the write is injected)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otlp_upstream import wait_until

from timeline_telemetry.delivery import DeliveryError, QueuedExporter, RetryPolicy
from timeline_telemetry.export.base import ExportState
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import JsonLinesSender, read_json_lines
from timeline_telemetry.tracing.batch import OtlpBatch

FAST = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, max_queue_items=50)


class FillingDisk:
    """``os.write`` with ``free`` bytes left (None: unlimited); then ``ENOSPC``."""

    def __init__(self) -> None:
        self.free: int | None = None

    def __call__(self, fd: int, data: memoryview) -> int:
        if self.free is None:
            return os.write(fd, data)
        if self.free <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = os.write(fd, data[: self.free])
        self.free -= n
        return n


def spans(name: str) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    ss.spans.add(name=name, trace_id=b"\x01" * 16, span_id=b"\x02" * 8,
                 start_time_unix_nano=1, end_time_unix_nano=2)
    return req


def assert_whole_records(path: Path) -> int:
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"torn tail: {data[-80:]!r}"
    lines = data.split(b"\n")[:-1]
    for line in lines:
        json.loads(line)
    return len(lines)


def errors_metric(metrics: Metrics, exporter: str) -> float:
    fam = metrics.snapshot().family("telemetry_export_errors_total")
    if fam is None:
        return 0.0
    return sum(float(s.value) for s in fam.series
               if s.labels == (("exporter", exporter),))  # type: ignore[arg-type]


def test_trace_file_survives_a_full_disk_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    disk = FillingDisk()
    metrics = Metrics()
    sender = JsonLinesSender(path, max_bytes=1_000_000, backups=1, write=disk)
    exp = QueuedExporter(sender, metrics=metrics, policy=FAST)
    exp.start()
    try:
        exp.export(OtlpBatch(spans("before"), 1))
        assert exp.force_flush(timeout_s=5)
        disk.free = 40  # the next line stops after 40 bytes, then the disk is full
        exp.export(OtlpBatch(spans("during"), 1))
        wait_until(lambda: exp.errors >= 3, what="retries on the full disk")
        assert exp.status().state in (ExportState.DEGRADED, ExportState.FAILED)
        assert "No space left on device" in exp.status().detail
        assert errors_metric(metrics, sender.name) >= 3
        assert assert_whole_records(path) == 1
        disk.free = None
        assert exp.force_flush(timeout_s=5)
        assert str(exp.status()) == "Healthy"
    finally:
        exp.shutdown(timeout_s=1)
    assert assert_whole_records(path) == 2
    names = [s.name for req in read_json_lines(path, ExportTraceServiceRequest)
             for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert names == ["before", "during"]


def test_logs_file_never_keeps_a_partial_record(tmp_path: Path) -> None:
    path = tmp_path / "otlp-logs.jsonl"
    disk = FillingDisk()
    sender = JsonLinesSender(path, max_bytes=600, backups=2, what="logs", write=disk)
    sender.open()
    written = 0
    for i in range(30):
        req = ExportLogsServiceRequest()
        rec = req.resource_logs.add().scope_logs.add().log_records.add()
        rec.body.string_value = f"record {i} " + "x" * 80
        disk.free = 30 if i % 4 == 3 else None
        try:
            sender.deliver(OtlpBatch(req, 1), timeout_s=1)
            written += 1
        except DeliveryError as exc:
            assert exc.retryable and "No space left on device" in exc.message
    assert written == 23
    assert sender.rotations >= 2
    kept = sum(assert_whole_records(p) for p in
               (path, path.with_name(path.name + ".1"), path.with_name(path.name + ".2"))
               if p.exists())
    assert 0 < kept <= written

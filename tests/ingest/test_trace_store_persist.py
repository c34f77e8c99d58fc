"""The trace store's export (error spans first, bounded) and its file (bounded, read back,
a corrupt file skipped with a log line)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from timeline_telemetry.ingest.trace_store import TraceStore

T0 = 1_700_000_000 * 10**9


def _request(n_traces: int, *, error_at: int | None = None, t0: int = T0,
             spans_per_trace: int = 1) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "timeline-studio"
    ss = rs.scope_spans.add()
    for i in range(n_traces):
        for j in range(spans_per_trace):
            span = ss.spans.add()
            span.trace_id = (i + 1).to_bytes(16, "big")
            span.span_id = (i * 100 + j + 1).to_bytes(8, "big")
            span.name = f"render-{i}-{j}"
            span.start_time_unix_nano = t0 + i * 10**9
            span.end_time_unix_nano = t0 + i * 10**9 + 5 * 10**8
            if i == error_at:
                span.status.code = Status.STATUS_CODE_ERROR
                span.status.message = "encoder crashed"
    return req


def test_export_puts_error_spans_first_then_by_start_time() -> None:
    store = TraceStore()
    store.add_request(_request(5, error_at=3))
    spans = store.export()
    assert [s["name"] for s in spans] == ["render-3-0", "render-0-0", "render-1-0",
                                          "render-2-0", "render-4-0"]
    assert spans[0]["status"] == "error" and spans[0]["status_message"] == "encoder crashed"
    assert spans[0]["service"] == "timeline-studio"
    assert str(spans[0]["start"]).count(":") >= 3  # RFC 3339 with an offset


def test_export_is_bounded_keeping_errors_and_the_newest() -> None:
    store = TraceStore()
    store.add_request(_request(10, error_at=0))
    spans = store.export(limit=3)
    assert [s["name"] for s in spans] == ["render-0-0", "render-8-0", "render-9-0"]
    since = store.export(since_ns=T0 + 7 * 10**9)
    assert [s["name"] for s in since] == ["render-7-0", "render-8-0", "render-9-0"]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = TraceStore(max_traces=5)
    store.add_request(_request(4, error_at=2, spans_per_trace=3))
    path = tmp_path / "trace-store.jsonl"
    assert store.save(path) == 12
    again = TraceStore(max_traces=5)
    assert again.load(path) == 12
    assert again.export() == store.export()
    # the eviction order survives: the least recently updated trace goes first
    again.add_request(_request(2, t0=T0 + 100 * 10**9))  # traces 1 and 2 updated again
    again.add_request(_request(6, t0=T0 + 200 * 10**9))
    assert len(again) == 5


def test_the_file_is_bounded(tmp_path: Path) -> None:
    store = TraceStore(max_traces=50)
    store.add_request(_request(200, error_at=199))
    assert len(store) == 50  # the store's own bound
    path = tmp_path / "trace-store.jsonl"
    assert store.save(path) == 50
    small = tmp_path / "small.jsonl"
    n = store.save(small, max_bytes=2000)
    assert 0 < n < 50
    assert small.stat().st_size <= 2000
    kept = TraceStore()
    kept.load(small)
    names = {s["name"] for s in kept.export()}
    assert "render-199-0" in names  # the newest traces are the ones kept


def test_a_corrupt_or_truncated_file_is_skipped_with_a_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TraceStore()
    store.add_request(_request(3))
    path = tmp_path / "trace-store.jsonl"
    store.save(path)
    data = path.read_bytes()
    path.write_bytes(b"garbage\x00\xff\n{\"v\": 1, \"span\": \"!!\"}\n" + data[:-20])
    again = TraceStore()
    with caplog.at_level(logging.WARNING, logger="timeline_telemetry.ingest.trace_store"):
        assert again.load(path) == 2
    assert "3 unreadable lines skipped" in caplog.text
    path.write_bytes(b"\x00" * 100)
    assert TraceStore().load(path) == 0
    assert TraceStore().load(tmp_path / "missing.jsonl") == 0
    huge = tmp_path / "huge.jsonl"
    huge.write_bytes(b"x" * 5000)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="timeline_telemetry.ingest.trace_store"):
        assert TraceStore().load(huge, max_bytes=1000) == 0
    assert "over the bound" in caplog.text

"""The Tracer API over the real SDK, exported through our File exporter and read back."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from otlp_upstream import wait_until

from timeline_telemetry.config.schema import (
    BatchExportConfig,
    FileExporterConfig,
    TracingConfig,
)
from timeline_telemetry.tracing import Span, Tracer, read_json_lines

RESOURCE = {"service.name": "timeline-telemetry", "service.version": "0.1.0",
            "host.name": "box"}


def file_config(path: Path, **kw: object) -> TracingConfig:
    base = TracingConfig(sample_rate=1.0, exporters=(FileExporterConfig(path),),
                         batch_export=BatchExportConfig(export_interval=0.05))
    return replace(base, **kw)  # type: ignore[arg-type]


def spans_in(path: Path) -> list[PbSpan]:
    if not path.exists():
        return []
    return [s for req in read_json_lines(path, ExportTraceServiceRequest)
            for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]


@pytest.fixture
def make_tracer(tracers: Callable[..., Tracer]) -> Callable[[TracingConfig], Tracer]:
    return functools.partial(tracers, resource=RESOURCE)


def test_trace_nests_records_attributes_events_and_errors(
    make_tracer: Callable[[TracingConfig], Tracer], tmp_path: Path
) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out))
    with tracer.trace("video_render_pipeline") as span:
        span.set_attribute("video_id", "12345").set_attribute("resolution", "1920x1080")
        span.add_event("preparation_started")
        with pytest.raises(ValueError, match="bad frame"), tracer.trace("video_render") as child:
            child.set_attribute("frames_count", 3600)
            raise ValueError("bad frame")
        assert tracer.current_span() is not None
        assert tracer.current_span().span_id == span.span_id  # type: ignore[union-attr]
    assert tracer.current_span() is None
    assert tracer.force_flush(timeout_s=5)

    by_name = {s.name: s for s in spans_in(out)}
    root, child_pb = by_name["video_render_pipeline"], by_name["video_render"]
    assert child_pb.parent_span_id == root.span_id and child_pb.trace_id == root.trace_id
    assert {kv.key: kv.value.string_value for kv in root.attributes} == {
        "video_id": "12345", "resolution": "1920x1080"}
    assert [e.name for e in root.events] == ["preparation_started"]
    assert child_pb.status.code == Status.STATUS_CODE_ERROR
    assert child_pb.status.message == "ValueError: bad frame"
    assert [e.name for e in child_pb.events] == ["exception"]
    assert root.status.code != Status.STATUS_CODE_ERROR
    assert root.trace_id.hex() == span.trace_id


def test_decorators_and_trace_async(
    make_tracer: Callable[[TracingConfig], Tracer], tmp_path: Path
) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out))

    @tracer.trace("sync_op")
    def work(x: int) -> int:
        return x * 2

    @tracer.trace("async_op")
    async def awork(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    async def pipeline(span: Span) -> str:
        span.set_attribute("codec", "h264")
        span.add_event("encoding_start")
        assert await awork(1) == 2
        return "done"

    async def failing(span: Span) -> None:
        raise RuntimeError("encoder crashed")

    assert work(21) == 42 and work(1) == 2
    assert asyncio.run(tracer.trace_async("debug_video_processing", pipeline)) == "done"
    with pytest.raises(RuntimeError):
        asyncio.run(tracer.trace_async("failing", failing))
    assert tracer.force_flush(timeout_s=5)

    spans = spans_in(out)
    assert sorted(s.name for s in spans) == sorted(
        ["sync_op", "sync_op", "async_op", "debug_video_processing", "failing"])
    by_name = {s.name: s for s in spans}
    assert by_name["async_op"].parent_span_id == by_name["debug_video_processing"].span_id
    assert by_name["failing"].status.code == Status.STATUS_CODE_ERROR
    assert work.__name__ == "work"


def test_span_builder_with_parent(make_tracer: Callable[[TracingConfig], Tracer],
                                  tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out))
    main = tracer.span_builder("complex_video_operation").with_attribute("items", 2).start()
    for i in range(2):
        item = tracer.span_builder(f"process_item_{i}").with_parent(main).start()
        item.set_attribute("result_size", "10").add_event("processing_successful")
        item.end()
    with tracer.trace("unrelated"):
        orphan = tracer.span_builder("new_root").with_parent(None).start()
        orphan.end()
    main.end()
    assert tracer.force_flush(timeout_s=5)
    by_name = {s.name: s for s in spans_in(out)}
    for i in range(2):
        assert by_name[f"process_item_{i}"].parent_span_id == by_name[
            "complex_video_operation"].span_id
    assert by_name["new_root"].parent_span_id == b""
    assert by_name["new_root"].trace_id != by_name["unrelated"].trace_id


def test_sampling_is_parent_based_ratio(make_tracer: Callable[[TracingConfig], Tracer],
                                        tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out, sample_rate=0.0))
    for _ in range(20):
        with tracer.trace("dropped") as span:
            assert not span.is_recording
    # A sampled remote parent (the editor's trace) is followed even at rate 0.
    parent_ctx = otel_trace.SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C, span_id=0xEEE19B7EC3C1B174,
        is_remote=True, trace_flags=otel_trace.TraceFlags(otel_trace.TraceFlags.SAMPLED))
    parent = Span(otel_trace.NonRecordingSpan(parent_ctx))
    child = tracer.span_builder("follows_parent").with_parent(parent).start()
    assert child.is_recording
    child.end()
    assert tracer.force_flush(timeout_s=5)
    assert [s.name for s in spans_in(out)] == ["follows_parent"]

    half = make_tracer(file_config(tmp_path / "half.jsonl", sample_rate=0.5))
    recorded = 0
    for _ in range(400):
        with half.trace("maybe") as span:
            recorded += span.is_recording
    assert 120 < recorded < 280


def test_span_limits(make_tracer: Callable[[TracingConfig], Tracer], tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out, max_attributes_per_span=2, max_events_per_span=1))
    with tracer.trace("limited") as span:
        for i in range(5):
            span.set_attribute(f"a{i}", i)
            span.add_event(f"e{i}")
    assert tracer.force_flush(timeout_s=5)
    (pb,) = spans_in(out)
    assert len(pb.attributes) == 2 and pb.dropped_attributes_count == 3
    assert len(pb.events) == 1 and pb.dropped_events_count == 4


def test_batch_size_is_honoured(make_tracer: Callable[[TracingConfig], Tracer],
                                tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out, batch_export=BatchExportConfig(
        max_batch_size=3, export_interval=3600.0)))
    for i in range(7):
        with tracer.trace(f"s{i}"):
            pass
    assert spans_in(out) == []  # nothing before the interval or a flush
    assert tracer.force_flush(timeout_s=5)
    sizes = [sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
             for req in read_json_lines(out, ExportTraceServiceRequest)]
    assert sum(sizes) == 7 and max(sizes) <= 3


def test_debug_mode_exports_each_span_at_once_and_log_spans_logs(
    make_tracer: Callable[[TracingConfig], Tracer], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = tmp_path / "debug.jsonl"
    caplog.set_level(logging.DEBUG, logger="timeline_telemetry.tracing.spans")
    tracer = make_tracer(file_config(out, sample_rate=0.0, debug_mode=True, log_spans=True,
                                     batch_export=BatchExportConfig(export_interval=3600.0)))
    with tracer.trace("debug_video_processing") as span:
        span.set_attribute("debug", "true")
        span.add_event("input_validation_start")
    # sample_rate 0 is overridden and there is no batch delay: the span arrives by itself
    wait_until(lambda: [s.name for s in spans_in(out)] == ["debug_video_processing"],
               what="the span in the file")
    (rec,) = [r for r in caplog.records if r.name == "timeline_telemetry.tracing.spans"]
    assert "debug_video_processing" in rec.getMessage()
    assert "debug=true" in rec.getMessage() and "input_validation_start" in rec.getMessage()


def test_disabled_tracing_records_nothing_but_keeps_exporters(
    make_tracer: Callable[[TracingConfig], Tracer], tmp_path: Path
) -> None:
    out = tmp_path / "traces.jsonl"
    tracer = make_tracer(file_config(out, enabled=False))
    with tracer.trace("nothing") as span:
        assert not span.is_recording
    assert tracer.force_flush(timeout_s=1)
    assert spans_in(out) == []
    assert list(tracer.get_export_status()) == ["traces:file:traces.jsonl"]
    assert str(tracer.get_export_status()["traces:file:traces.jsonl"]) == "Healthy"

"""The real OpenTelemetry Python SDK pushes traces, metrics and logs to the receiver."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from otlp_upstream import UpstreamReceiver, wait_until
from sdk_push import python_logger, sdk_client

from timeline_telemetry.delivery import QueuedExporter, RetryPolicy
from timeline_telemetry.export.prometheus import PrometheusExporter
from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import OtlpHttpSender, TraceExporters, read_json_lines

Make = Callable[..., OtlpReceiver]
FAST_RETRY = RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, max_queue_items=50)


def scrape(metrics: Metrics) -> str:
    """The /metrics text of a real Prometheus exporter over ``metrics``."""
    exp = PrometheusExporter(snapshot_source=metrics.snapshot, port=0)
    exp.start()
    try:
        with urllib.request.urlopen(exp.server.url("/metrics"), timeout=5) as resp:
            return resp.read().decode()
    finally:
        exp.shutdown(timeout_s=2)


def test_traces_reach_the_store_and_are_forwarded(
    make_receiver: Make, upstream: UpstreamReceiver, metrics: Metrics,
    trace_exporters: list[TraceExporters],
) -> None:
    forward = TraceExporters([QueuedExporter(
        OtlpHttpSender(f"{upstream.url}/v1/traces", compression="gzip"), metrics=metrics)])
    forward.start()
    trace_exporters.append(forward)
    rec = make_receiver(trace_exporters=forward)
    client = sdk_client(rec.endpoint)
    try:
        tracer = client.tracer_provider.get_tracer("editor")
        with tracer.start_as_current_span("video_render_pipeline") as root:
            root.set_attribute("video_id", "12345")
            root.add_event("preparation_started")
            with tracer.start_as_current_span("video_render") as child:
                child.set_attribute("frames_count", 3600)
        trace_id = f"{root.get_span_context().trace_id:032x}"
        # A span that lasted 45 s, as the design document's "spans longer than 30 s" case.
        start = time.time_ns() - 45_000_000_000
        slow = tracer.start_span("slow_export", start_time=start)
        slow.end(end_time=start + 45_000_000_000)
    finally:
        client.shutdown()

    spans = rec.trace_store.trace(trace_id)
    assert [s.name for s in spans] == ["video_render_pipeline", "video_render"]
    assert spans[1].parent_span_id == spans[0].span_id
    assert ("video_id", "12345") in spans[0].attributes
    assert spans[0].events == ("preparation_started",)
    assert spans[0].service == "timeline-studio"
    assert [s.name for s in rec.trace_store.find(name="video_render")] == ["video_render"]
    long = rec.trace_store.find(min_duration_s=30)
    assert [(s.name, round(s.duration_s)) for s in long] == [("slow_export", 45)]
    assert rec.trace_store.find(name="nope") == []

    assert forward.force_flush(timeout_s=10)
    assert sorted(upstream.spans()) == sorted([
        ("timeline-studio", "video_render_pipeline"), ("timeline-studio", "video_render"),
        ("timeline-studio", "slow_export")])
    assert all(r.headers.get("content-encoding") == "gzip" for r in upstream.requests)
    text = scrape(metrics)
    assert 'telemetry_otlp_received_items_total{signal="traces"} 3.0' in text
    assert 'telemetry_trace_spans_exported_total{exporter="traces:otlp:127.0.0.1:' in text


def test_metrics_appear_on_prometheus_under_converted_and_seed_names(
    make_receiver: Make, metrics: Metrics,
) -> None:
    rec = make_receiver()
    client = sdk_client(rec.endpoint)
    try:
        meter = client.meter_provider.get_meter("editor", "2.1")
        # The design document's application metrics, as an editor would name its instruments.
        meter.create_counter("frames_processed").add(120, {"codec": "h264"})
        meter.create_counter("api_requests_total").add(3, {"method": "POST"})
        meter.create_histogram("frame.processing.duration", unit="ms").record(12.0)
        meter.create_up_down_counter("queue_size").add(7)
        meter.create_gauge("encoding_speed_fps").set(59.5)
        # Anything else: OTel -> Prometheus names.
        meter.create_histogram("http.server.request.duration", unit="s").record(
            0.3, {"http.request.method": "GET"})
        meter.create_counter("render.bytes.written", unit="By").add(4096)
        meter.create_gauge("worker.utilization", unit="1").set(0.5)
        meter.create_up_down_counter("jobs.active", unit="{job}").add(2)
        assert client.meter_provider.force_flush()
    finally:
        client.shutdown()

    text = scrape(metrics)
    # Every series keeps its instrumentation scope (the compatibility spec's labels).
    scope = 'otel_scope_name="editor",otel_scope_version="2.1"'
    lbl = f'instance="editor-1",job="timeline-studio",{scope}'
    assert f'frames_processed_total{{codec="h264",{lbl}}} 120.0' in text
    assert ('api_requests_total{instance="editor-1",job="timeline-studio",method="POST",'
            f'{scope}}} 3.0') in text
    bucket = 'frame_processing_duration_ms_bucket{instance="editor-1",job="timeline-studio",le='
    assert f'{bucket}"25.0",{scope}}} 1.0' in text
    assert f'{bucket}"10.0",{scope}}} 0.0' in text
    assert f"frame_processing_duration_ms_sum{{{lbl}}} 12.0" in text
    assert f"queue_size{{{lbl}}} 7.0" in text
    assert f"encoding_speed_fps{{{lbl}}} 59.5" in text
    assert "# TYPE http_server_request_duration_seconds histogram" in text
    assert (f'http_server_request_duration_seconds_count{{http_request_method="GET",{lbl}}} 1.0'
            in text)
    assert f"render_bytes_written_bytes_total{{{lbl}}} 4096.0" in text
    assert f"worker_utilization_ratio{{{lbl}}} 0.5" in text
    assert f"jobs_active{{{lbl}}} 2.0" in text
    assert 'target_info{host_name="workstation",instance="editor-1",job="timeline-studio",' \
           'service_version="9.9"} 1.0' in text
    # Cumulative sums set the total: pushing the same total again does not double it.
    snap = metrics.snapshot().family("frames_processed_total")
    assert snap is not None and [s.value for s in snap.series] == [120.0]


def test_delta_temporality_adds_up(make_receiver: Make, metrics: Metrics) -> None:
    rec = make_receiver()
    client = sdk_client(rec.endpoint, delta=True)
    try:
        meter = client.meter_provider.get_meter("editor")
        frames = meter.create_counter("frames_processed")
        hist = meter.create_histogram("api.request.duration", unit="ms")
        for value in (10, 5):
            frames.add(value)
            hist.record(value * 10.0)
            assert client.meter_provider.force_flush()
    finally:
        client.shutdown()
    lbl = (("instance", "editor-1"), ("job", "timeline-studio"), ("otel_scope_name", "editor"))
    fam = metrics.snapshot().family("frames_processed_total")
    assert fam is not None and [(s.labels, s.value) for s in fam.series] == [(lbl, 15.0)]
    hfam = metrics.snapshot().family("api_request_duration_ms")
    assert hfam is not None
    (series,) = hfam.series
    assert series.value.count == 2 and series.value.sum == 150.0  # type: ignore[union-attr]


def test_logs_are_kept_and_written_to_the_logs_file(
    make_receiver: Make, tmp_path: Path
) -> None:
    logs_file = tmp_path / "received" / "otlp-logs.jsonl"
    rec = make_receiver(logs_file=logs_file)
    client = sdk_client(rec.endpoint)
    try:
        log = python_logger(client)
        log.warning("render of %s is slow", "clip-7")
        log.error("encoder crashed", extra={"codec": "h264"})
    finally:
        client.shutdown()

    kept = rec.log_store.recent()
    assert [(r.severity_text, r.body) for r in kept] == [
        ("WARN", "render of clip-7 is slow"), ("ERROR", "encoder crashed")]
    assert ("codec", "h264") in kept[1].attributes
    assert kept[0].service == "timeline-studio"
    assert [r.body for r in rec.log_store.recent(min_severity=17)] == ["encoder crashed"]

    assert rec.logs_exporter is not None
    assert rec.logs_exporter.force_flush(timeout_s=10)
    bodies = [lr.body.string_value
              for req in read_json_lines(logs_file, ExportLogsServiceRequest)
              for rl in req.resource_logs for sl in rl.scope_logs for lr in sl.log_records]
    assert bodies == ["render of clip-7 is slow", "encoder crashed"]


def test_the_store_keeps_the_last_n_traces(make_receiver: Make) -> None:
    rec = make_receiver(max_traces=3)
    client = sdk_client(rec.endpoint, gzip=False)
    ids = []
    try:
        tracer = client.tracer_provider.get_tracer("editor")
        for i in range(5):
            with tracer.start_as_current_span(f"op{i}") as span:
                ids.append(f"{span.get_span_context().trace_id:032x}")
    finally:
        client.shutdown()
    assert [t.root_name for t in rec.trace_store.traces()] == ["op4", "op3", "op2"]
    assert rec.trace_store.trace(ids[0]) == []
    assert rec.trace_store.evicted_traces == 2


@pytest.mark.parametrize("stop_mid_run", [True])
def test_an_upstream_that_stops_shows_in_status_and_counters(
    make_receiver: Make, upstream: UpstreamReceiver, metrics: Metrics,
    trace_exporters: list[TraceExporters], stop_mid_run: bool,
) -> None:
    exporter = QueuedExporter(OtlpHttpSender(f"{upstream.url}/v1/traces"), metrics=metrics,
                              policy=FAST_RETRY, timeout_s=2)
    forward = TraceExporters([exporter])
    forward.start()
    trace_exporters.append(forward)
    rec = make_receiver(trace_exporters=forward)
    client = sdk_client(rec.endpoint)
    tracer = client.tracer_provider.get_tracer("editor")
    try:
        with tracer.start_as_current_span("before"):
            pass
        assert forward.force_flush(timeout_s=10)
        assert str(exporter.status()) == "Healthy"

        upstream.stop()
        for i in range(60):  # more than the queue holds (50 spans)
            with tracer.start_as_current_span(f"while_down_{i}"):
                pass
        wait_until(lambda: exporter.status().state.value == "Failed", what="Failed status")
        assert "connection refused" in exporter.status().detail
        wait_until(lambda: exporter.dropped_items["queue_full"] > 0, what="queue_full drops")
        text = scrape(metrics)
        name = exporter.name
        assert f'telemetry_trace_spans_dropped_total{{exporter="{name}",reason="queue_full"}}' \
            in text
        errors = [line for line in text.splitlines()
                  if line.startswith(f'telemetry_export_errors_total{{exporter="{name}"}}')]
        assert errors and float(errors[0].split()[-1]) >= 3
        # The receiver itself kept answering 200 and storing the spans.
        assert len(rec.trace_store.find(limit=1000)) == 61

        upstream.start()  # back on the same port: the queued spans go out
        wait_until(lambda: exporter.queued_items == 0, what="the queue to drain")
        assert str(exporter.status()) == "Healthy"
        delivered = {name for _, name in upstream.spans()}
        assert "while_down_0" in delivered
        assert exporter.exported_items + sum(exporter.dropped_items.values()) == 61
    finally:
        client.shutdown()

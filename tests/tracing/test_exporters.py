"""Trace exporters against real endpoints: the upstream OTLP receiver, files, a stream."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otlp_upstream import UpstreamReceiver, free_port, wait_until

from timeline_telemetry.config.schema import (
    ConsoleExporterConfig,
    FileExporterConfig,
    JaegerExporterConfig,
    OtlpExporterConfig,
)
from timeline_telemetry.delivery import QueuedExporter, RetryPolicy
from timeline_telemetry.export.base import ExportState
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import (
    ConsoleSender,
    JsonLinesSender,
    OtlpHttpSender,
    build_trace_exporters,
    jaeger_otlp_url,
    otlp_signal_url,
    read_json_lines,
    trace_batch,
)
from timeline_telemetry.tracing.batch import OtlpBatch

FAST = RetryPolicy(initial_backoff_s=0.02, max_backoff_s=0.1, max_queue_items=20)


def request(name: str = "op", n: int = 1, *, error: bool = False) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "editor"
    ss = rs.scope_spans.add()
    for i in range(n):
        s = ss.spans.add(name=name, trace_id=b"\x01" * 16, span_id=(i + 1).to_bytes(8, "big"),
                         start_time_unix_nano=1_700_000_000_000_000_000,
                         end_time_unix_nano=1_700_000_001_500_000_000)
        a = s.attributes.add()
        a.key, a.value.int_value = "frames", 3600
        if error:
            s.status.code, s.status.message = 2, "boom"
    return req


def counter(metrics: Metrics, name: str, **labels: str) -> float:
    fam = metrics.snapshot().family(name)
    if fam is None:
        return 0.0
    want = tuple(sorted(labels.items()))
    return sum(float(s.value) for s in fam.series if s.labels == want)  # type: ignore[arg-type]


def test_otlp_exporter_sends_gzip_protobuf_with_secret_headers_resolved_per_export(
    upstream: UpstreamReceiver, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"OTLP_TOKEN": "first-secret"}
    keyring = {("timeline-telemetry", "tenant"): "acme-secret"}
    exporters = build_trace_exporters(
        [OtlpExporterConfig(upstream.url, {"Authorization": "env:OTLP_TOKEN",
                                           "X-Tenant": "keyring:tenant", "X-Plain": "p"},
                            "gzip", 2.0)],
        metrics=metrics, environ=env, keyring_get=lambda s, n: keyring.get((s, n)),
    )
    exporters.start()
    try:
        (exp,) = exporters
        exporters.export(trace_batch(request("first", 2)))
        assert exporters.force_flush(timeout_s=5)
        env["OTLP_TOKEN"] = "rotated-secret"
        exporters.export(trace_batch(request("second")))
        assert exporters.force_flush(timeout_s=5)
        first, second = upstream.requests
        assert first.path == "/v1/traces" and first.headers["content-encoding"] == "gzip"
        assert first.headers["content-type"] == "application/x-protobuf"
        assert first.headers["authorization"] == "first-secret"
        assert second.headers["authorization"] == "rotated-secret"
        assert first.headers["x-tenant"] == "acme-secret" and first.headers["x-plain"] == "p"
        assert [n for _, n in upstream.spans()] == ["first", "first", "second"]
        assert str(exp.status()) == "Healthy"
        assert counter(metrics, "telemetry_trace_spans_exported_total", exporter=exp.name) == 3
        assert "Authorization" in exp.describe()
        del env["OTLP_TOKEN"]  # a missing secret: a failure that names the reference only
        exporters.export(trace_batch(request("third")))
        wait_until(lambda: exp.status().state is ExportState.DEGRADED, what="Degraded")
        assert "env:OTLP_TOKEN" in exp.status().detail
    finally:
        exporters.shutdown(timeout_s=1)
    everything = caplog.text + exp.describe() + str(exp.status())
    for secret in ("first-secret", "rotated-secret", "acme-secret"):
        assert secret not in everything


def test_status_follows_real_outcomes_and_retries_reach_a_returning_upstream(
    upstream: UpstreamReceiver, metrics: Metrics
) -> None:
    exp = QueuedExporter(OtlpHttpSender(f"{upstream.url}/v1/traces"), metrics=metrics,
                         policy=FAST, timeout_s=1)
    exp.start()
    try:
        exp.export(trace_batch(request("ok")))
        assert exp.force_flush(timeout_s=5) and str(exp.status()) == "Healthy"
        upstream.stop()
        exp.export(trace_batch(request("retried", 3)))
        wait_until(lambda: exp.errors >= 1, what="a failed attempt")
        states = {exp.status().state}
        wait_until(lambda: exp.status().state is ExportState.FAILED, what="Failed")
        states.add(exp.status().state)
        assert ExportState.FAILED in states
        assert counter(metrics, "telemetry_export_errors_total", exporter=exp.name) >= 3
        for i in range(10):  # 3 queued + 10 x 2 > 20: some are refused
            exp.export(trace_batch(request(f"more{i}", 2)))
        assert exp.dropped_items["queue_full"] > 0
        assert counter(metrics, "telemetry_trace_spans_dropped_total", exporter=exp.name,
                       reason="queue_full") == exp.dropped_items["queue_full"]
        upstream.start()
        assert exp.force_flush(timeout_s=10)
        assert str(exp.status()) == "Healthy"
        names = [n for _, n in upstream.spans()]
        assert names.count("retried") == 3 and names.count("ok") == 1
        assert counter(metrics, "telemetry_trace_export_queue_spans", exporter=exp.name) == 0
    finally:
        exp.shutdown(timeout_s=1)


def test_a_refused_batch_is_dropped_not_retried(upstream: UpstreamReceiver,
                                                metrics: Metrics) -> None:
    upstream.status = 400
    exp = QueuedExporter(OtlpHttpSender(f"{upstream.url}/v1/traces"), metrics=metrics,
                         policy=FAST)
    exp.start()
    try:
        exp.export(trace_batch(request("bad", 4)))
        assert exp.force_flush(timeout_s=5)
        assert exp.dropped_items == {"rejected": 4}
        assert exp.errors == 1
        assert "HTTP 400" in exp.status().detail
    finally:
        exp.shutdown(timeout_s=1)


def test_shutdown_drops_and_counts_what_cannot_be_sent(metrics: Metrics) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1/traces"
    exp = QueuedExporter(OtlpHttpSender(dead), metrics=metrics,
                         policy=RetryPolicy(initial_backoff_s=5, max_queue_items=100))
    exp.start()
    exp.export(trace_batch(request("a", 2)))
    exp.export(trace_batch(request("b", 3)))
    wait_until(lambda: exp.errors >= 1, what="the first failure")
    exp.shutdown(timeout_s=0.5)
    assert exp.dropped_items == {"shutdown": 5}
    assert str(exp.status()) == "Degraded(stopped)"
    assert exp.export(trace_batch(request("late"))).value == "failure"


def test_jaeger_legacy_endpoint_is_redirected_with_a_warning(
    metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    url, warning = jaeger_otlp_url("http://jaeger-collector:14268/api/traces")
    assert url == "http://jaeger-collector:4318/v1/traces"
    assert warning is not None and "4318" in warning and "Thrift" in warning
    assert jaeger_otlp_url("http://jaeger:4318") == ("http://jaeger:4318/v1/traces", None)
    exporters = build_trace_exporters(
        [JaegerExporterConfig("http://localhost:14268/api/traces", "gzip")], metrics=metrics)
    (exp,) = exporters
    assert exp.name == "traces:jaeger:localhost:4318"
    assert "legacy Thrift collector" in caplog.text and "http://localhost:4318" in caplog.text


def test_jaeger_exporter_speaks_otlp(upstream: UpstreamReceiver, metrics: Metrics) -> None:
    exporters = build_trace_exporters([JaegerExporterConfig(upstream.url, "gzip")],
                                      metrics=metrics)
    exporters.start()
    try:
        exporters.export(trace_batch(request("to_jaeger")))
        assert exporters.force_flush(timeout_s=5)
    finally:
        exporters.shutdown(timeout_s=1)
    assert upstream.spans() == [("editor", "to_jaeger")]
    assert upstream.requests[0].headers["content-encoding"] == "gzip"


def test_endpoint_rules() -> None:
    assert otlp_signal_url("http://c:4318") == "http://c:4318/v1/traces"
    assert otlp_signal_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert otlp_signal_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"
    assert otlp_signal_url("https://c/otlp", "logs") == "https://c/otlp/v1/logs"


def test_console_exporter_prints_a_line_per_span(metrics: Metrics) -> None:
    stream = io.StringIO()
    exp = QueuedExporter(ConsoleSender(stream=stream, localtime=lambda t: __import__(
        "time").gmtime(t)), metrics=metrics)
    exp.start()
    try:
        exp.export(trace_batch(request("render", 2, error=True)))
        assert exp.force_flush(timeout_s=5)
    finally:
        exp.shutdown(timeout_s=1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == ("22:13:20.000 span render 1.50s trace=01010101 id=00000000 "
                        "ERROR(boom) service=editor frames=3600")


def test_file_exporter_rotates_and_every_line_parses(tmp_path: Path, metrics: Metrics) -> None:
    path = tmp_path / "t" / "traces.jsonl"
    exporters = build_trace_exporters(
        [FileExporterConfig(path, max_bytes=2000, backups=2), ConsoleExporterConfig()],
        metrics=metrics, console_stream=io.StringIO())
    exporters.start()
    try:
        for i in range(12):
            exporters.export(trace_batch(request(f"s{i}", 2)))
        assert exporters.force_flush(timeout_s=5)
    finally:
        exporters.shutdown(timeout_s=1)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["traces.jsonl", "traces.jsonl.1", "traces.jsonl.2"]
    names = [s.name for p in (path.with_name("traces.jsonl.2"), path.with_name("traces.jsonl.1"),
                              path)
             for req in read_json_lines(p, ExportTraceServiceRequest)
             for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert names[-1] == "s11" and len(names) % 2 == 0
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    line = path.read_text().splitlines()[0]
    assert '"traceId":"01010101010101010101010101010101"' in line  # OTLP/JSON hex ids


def test_file_write_errors_are_retried(tmp_path: Path, metrics: Metrics) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    sender = JsonLinesSender(blocker / "traces.jsonl", max_bytes=10_000, backups=1)
    exp = QueuedExporter(sender, metrics=metrics, policy=FAST)
    exp.start()
    try:
        assert exp.status().state is ExportState.FAILED
        exp.export(OtlpBatch(request("x"), 1))
        wait_until(lambda: exp.errors >= 3, what="retries")
        blocker.unlink()
        blocker.mkdir()
        assert exp.force_flush(timeout_s=5)
        assert str(exp.status()) == "Healthy" and exp.exported_items == 1
    finally:
        exp.shutdown(timeout_s=1)


def test_an_otlp_error_body_is_read_without_googleapis() -> None:
    from google.rpc.status_pb2 import Status

    from timeline_telemetry.ingest.codec import rpc_status_bytes
    from timeline_telemetry.otlp.rpc_status import status_message

    body = Status(code=3, message="loop: nope", details=[]).SerializeToString()
    assert status_message(body) == "loop: nope"
    assert status_message(rpc_status_bytes(3, "héllo")) == "héllo"
    with pytest.raises(ValueError):
        status_message(b"\x12\x10ab")

"""Exemplars pushed by the real OpenTelemetry SDK (a counter and a histogram recorded inside a
sampled span) are kept and shown on the OpenMetrics exposition, as the OTel "Prometheus and
OpenMetrics compatibility" spec maps them; prometheus-client's OpenMetrics parser reads them."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from prometheus_client.openmetrics.parser import text_string_to_metric_families
from sdk_push import sdk_client

from timeline_telemetry.export.prometheus import PrometheusExporter
from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.metrics.exemplars import Exemplar, ExemplarStore

Make = Callable[..., OtlpReceiver]
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def scrape(metrics: Metrics, accept: str) -> str:
    exp = PrometheusExporter(snapshot_source=metrics.snapshot, port=0)
    exp.start()
    try:
        req = urllib.request.Request(exp.server.url("/metrics"), headers={"Accept": accept})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return str(resp.read().decode())
    finally:
        exp.shutdown(timeout_s=5)


def test_sdk_exemplars_reach_the_openmetrics_exposition(
    make_receiver: Make, metrics: Metrics,
) -> None:
    rec = make_receiver()
    client = sdk_client(rec.endpoint)
    try:
        tracer = client.tracer_provider.get_tracer("editor")
        meter = client.meter_provider.get_meter("editor")
        frames = meter.create_counter("frames_processed")
        duration = meter.create_histogram("frame.processing.duration", unit="ms")
        with tracer.start_as_current_span("render") as span:
            frames.add(3, {"codec": "h264"})
            duration.record(42.0)
            ctx = span.get_span_context()
        assert client.meter_provider.force_flush()
    finally:
        client.shutdown()
    trace_id, span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"

    text = scrape(metrics, OPENMETRICS)
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    (counter,) = [s for s in fams["frames_processed"].samples if s.name.endswith("_total")]
    assert counter.exemplar is not None
    assert counter.exemplar.labels == {"trace_id": trace_id, "span_id": span_id}
    assert counter.exemplar.value == 3.0
    buckets = {s.labels["le"]: s for s in fams["frame_processing_duration_ms"].samples
               if s.name.endswith("_bucket")}
    with_ex = {le: s.exemplar for le, s in buckets.items() if s.exemplar is not None}
    assert list(with_ex) == ["50.0"]  # the bucket that holds 42 ms
    assert with_ex["50.0"].value == 42.0 and with_ex["50.0"].labels["trace_id"] == trace_id
    # The text format has no exemplars: the classic scrape stays as it was.
    assert "trace_id" not in scrape(metrics, "text/plain")


def test_the_store_is_bounded() -> None:
    store = ExemplarStore(max_entries=2)
    ex = Exemplar(1.0, 0.0, "a" * 32, "b" * 16)
    assert store.record("m", (("x", "1"),), ex)
    assert store.record("m", (("x", "2"),), ex)
    assert store.record("m", (("x", "1"),), ex)  # replacing is always allowed
    assert not store.record("m", (("x", "3"),), ex)
    assert len(store) == 2 and store.dropped == 1

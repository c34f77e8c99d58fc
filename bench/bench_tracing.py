"""Span cost: our ``Tracer.trace`` versus the raw OpenTelemetry SDK at the same settings.

Both sides: parent-based ratio sampling, span limits 128/128, a batch span processor with
the same batch size and interval, and an exporter that encodes each batch to OTLP protobuf
(ours: the real pipeline into a queued exporter whose sender discards; the SDK: a
SpanExporter calling the same ``encode_spans``). One case = a block of spans, each with 3
attributes and an event, then a flush (so the export work is counted). Cases alternate.

Target: ours <= 1.15x the raw SDK. Run: ``python bench/bench_tracing.py
[--quick]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, machine_line, ratio_line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few hundred spans, for CI")
    args = ap.parse_args(argv)
    rounds, block, n = (3, 200, 2) if args.quick else (7, 2_000, 5)

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from timeline_telemetry.config.schema import BatchExportConfig, TracingConfig
    from timeline_telemetry.delivery import QueuedExporter
    from timeline_telemetry.metrics import Metrics
    from timeline_telemetry.tracing import OtlpBatch, TraceExporters, Tracer, build_tracer

    resource = {"service.name": "bench", "service.version": "1", "host.name": "h"}

    class Discard:
        name = "traces:discard"

        def open(self) -> None: ...
        def deliver(self, batch: OtlpBatch, *, timeout_s: float) -> int:
            return 0
        def close(self) -> None: ...
        def describe(self) -> str:
            return "discard"

    class EncodeAndDiscard(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            encode_spans(spans)
            return SpanExportResult.SUCCESS

    print(machine_line())
    for rate in (1.0, 0.1):
        cfg = TracingConfig(sample_rate=rate, batch_export=BatchExportConfig(
            max_batch_size=512, export_interval=5.0))
        metrics = Metrics()
        exporters = TraceExporters([QueuedExporter(Discard(), metrics=metrics)])
        ours = build_tracer(cfg, resource=resource, metrics=metrics, exporters=exporters)

        provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(rate)), resource=Resource(resource),
            span_limits=SpanLimits(max_span_attributes=128, max_events=128),
            shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(
            EncodeAndDiscard(), max_queue_size=2048, schedule_delay_millis=5000,
            max_export_batch_size=512, export_timeout_millis=30000))
        raw = provider.get_tracer("bench")

        def ours_block(ours: Tracer = ours) -> None:
            trace = ours.trace
            for i in range(block):
                with trace("video_render") as span:
                    span.set_attribute("video_id", "12345")
                    span.set_attribute("codec", "h264")
                    span.set_attribute("frames", i)
                    span.add_event("encoding_start")
            ours.force_flush(timeout_s=60)

        def raw_block(raw: Any = raw, provider: TracerProvider = provider) -> None:
            start = raw.start_as_current_span
            for i in range(block):
                with start("video_render") as span:
                    span.set_attribute("video_id", "12345")
                    span.set_attribute("codec", "h264")
                    span.set_attribute("frames", i)
                    span.add_event("encoding_start")
            provider.force_flush(60_000)

        cases: dict[str, Callable[[], object]] = {"ours": ours_block, "raw": raw_block}
        res = interleaved(cases, rounds=rounds, n=n)
        per_span_ours = min(res["ours"]) / block / 1000
        per_span_raw = min(res["raw"]) / block / 1000
        print(f"sample_rate {rate}: ours {per_span_ours:.1f} us/span, raw SDK "
              f"{per_span_raw:.1f} us/span (3 attributes + 1 event, flush included)")
        print(ratio_line("  ours / raw SDK (target <= 1.15x)", res["ours"], res["raw"]))
        ours.shutdown(timeout_s=5)
        provider.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

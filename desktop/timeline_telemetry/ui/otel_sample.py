"""Send an editor's render/export traces to the agent's OTLP receiver with the real
OpenTelemetry SDK (as Timeline Studio does): for the screenshots and the tests. Imports the
SDK when called, never at start-up."""

from __future__ import annotations

import time

__all__ = ["send_editor_traces"]

#: (root span, children, seconds ago it started, seconds it lasted, failed)
_SESSION = (
    ("render_timeline", ("decode_clips", "apply_effects", "encode_h264"), 2400.0, 420.0, False),
    ("export_master", ("render_frames", "encode_prores", "write_container"), 1200.0, 300.0,
     False),
    ("render_preview", ("decode_clips", "apply_effects", "encode_h264"), 240.0, 95.0, True),
)


def send_editor_traces(port: int, *, now: float | None = None,
                       service: str = "timeline-studio") -> int:
    """Send :data:`_SESSION`'s traces (root span plus three steps) to
    ``http://127.0.0.1:<port>/v1/traces``; returns the number of spans sent."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode, set_span_in_context

    now = time.time() if now is None else now
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=5)))
    tracer = provider.get_tracer("timeline-studio.render")
    sent = 0
    try:
        for root_name, steps, ago, length, failed in _SESSION:
            t0 = int((now - ago) * 1e9)
            t1 = t0 + int(length * 1e9)
            root = tracer.start_span(root_name, start_time=t0,
                                     attributes={"timeline.name": "Documentary cut 3",
                                                 "render.codec": "h264"})
            ctx = set_span_in_context(root)
            step = (t1 - t0) // len(steps)
            for i, name in enumerate(steps):
                child = tracer.start_span(name, context=ctx, start_time=t0 + i * step)
                if failed and i == len(steps) - 1:
                    child.set_status(Status(StatusCode.ERROR, "encoder ran out of GPU memory"))
                child.end(end_time=t0 + (i + 1) * step)
                sent += 1
            if failed:
                root.set_status(Status(StatusCode.ERROR, "render failed"))
            root.end(end_time=t1)
            sent += 1
    finally:
        provider.shutdown()
    return sent

"""The OpenTelemetry SDK's side of the trace pipeline: the exporter that hands the agent's
own finished spans to :class:`~timeline_telemetry.tracing.pipeline.TraceExporters`, and the
``log_spans`` processor. Imported only when the agent records its first span.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from timeline_telemetry.export.base import ExportResult

from .batch import OtlpBatch
from .pipeline import TraceExporters

__all__ = ["LoggingSpanProcessor", "SdkBridge"]

_log = logging.getLogger("timeline_telemetry.tracing.spans")


class SdkBridge(SpanExporter):
    """An SDK ``SpanExporter`` that encodes each batch once (OTLP protobuf) and hands it to
    the :class:`TraceExporters`. Called on the SDK's batch thread; never blocks on I/O."""

    def __init__(self, exporters: TraceExporters) -> None:
        self._exporters = exporters

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Encode and queue."""
        if not spans or not len(self._exporters):
            return SpanExportResult.SUCCESS
        batch = OtlpBatch(encode_spans(spans), len(spans))
        if self._exporters.export(batch) is ExportResult.FAILURE:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """The exporters are shut down by their owner, after the SDK has flushed."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait for the exporters' queues."""
        return self._exporters.force_flush(timeout_s=timeout_millis / 1000)


class LoggingSpanProcessor(SpanProcessor):
    """``log_spans``: one log line per finished span on ``timeline_telemetry.tracing.spans``
    at ``level`` (INFO; DEBUG in ``debug_mode`` adds the events)."""

    def __init__(self, *, level: int = logging.INFO, with_events: bool = False) -> None:
        self._level = level
        self._with_events = with_events

    def on_end(self, span: ReadableSpan) -> None:
        """Log ``span``."""
        if not _log.isEnabledFor(self._level):
            return
        ctx = span.context
        duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        status = span.status
        state = ("ERROR" + (f"({status.description})" if status.description else "")
                 if status.status_code is StatusCode.ERROR else "ok")
        attrs = " ".join(f"{k}={v!s}" for k, v in (span.attributes or {}).items())
        line = f"span {span.name} {duration * 1000:.2f}ms {state}"
        if ctx is not None:
            line += f" trace={ctx.trace_id:032x} id={ctx.span_id:016x}"
        if span.parent is not None:
            line += f" parent={span.parent.span_id:016x}"
        if attrs:
            line += " " + attrs
        if self._with_events and span.events:
            line += " events=[" + ", ".join(e.name for e in span.events) + "]"
        _log.log(self._level, "%s", line)

"""The trace pipeline's exporters as one fan-out, and the SDK's bridge into it.

Spans recorded by the agent (through the SDK's batch processor and :class:`SdkBridge`) and
spans received from the editor (through the receiver) both end up in
:meth:`TraceExporters.export` as one OTLP request, handed to every exporter's queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from timeline_telemetry.export.base import ExportResult, ExportStatus

from .batch import OtlpBatch
from .queue import QueuedExporter

__all__ = ["LoggingSpanProcessor", "SdkBridge", "TraceExporters"]

_log = logging.getLogger("timeline_telemetry.tracing.spans")


class TraceExporters:
    """The configured trace exporters, fed together. Owns them: ``shutdown`` stops all."""

    def __init__(self, exporters: Sequence[QueuedExporter] = ()) -> None:
        self._exporters = tuple(exporters)

    def __iter__(self) -> Iterator[QueuedExporter]:
        return iter(self._exporters)

    def __len__(self) -> int:
        return len(self._exporters)

    def start(self) -> None:
        """Start every exporter's worker."""
        for exp in self._exporters:
            exp.start()

    def export(self, batch: OtlpBatch) -> ExportResult:
        """Queue ``batch`` on every exporter; FAILURE if any of them dropped it."""
        result = ExportResult.SUCCESS
        for exp in self._exporters:
            if exp.export(batch) is ExportResult.FAILURE:
                result = ExportResult.FAILURE
        return result

    def statuses(self) -> dict[str, ExportStatus]:
        """Each exporter's status by name (for ``get_export_status``)."""
        return {exp.name: exp.status() for exp in self._exporters}

    def force_flush(self, *, timeout_s: float = 5.0) -> bool:
        """Wait until every queue is empty; False if one did not empty in time."""
        ok = True
        for exp in self._exporters:
            ok = exp.force_flush(timeout_s=timeout_s) and ok
        return ok

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Flush and stop every exporter (each gets the whole timeout at most)."""
        for exp in self._exporters:
            try:
                exp.shutdown(timeout_s=timeout_s)
            except Exception:
                _log.exception("trace exporter %s failed to shut down", exp.name)

    def describe(self) -> list[str]:
        """One log line per exporter."""
        return [exp.describe() for exp in self._exporters]


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

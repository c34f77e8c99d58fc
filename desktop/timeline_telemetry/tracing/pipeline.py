"""The trace pipeline's exporters as one fan-out.

Spans recorded by the agent (through the SDK's batch processor and ``sdk_bridge.SdkBridge``)
and spans received from the editor (through the receiver) both end up in
:meth:`TraceExporters.export` as one OTLP request, handed to every exporter's queue. This
module does not import the OpenTelemetry SDK: the receiver and an agent that records no
spans of its own never load it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from timeline_telemetry.delivery import QueuedExporter
from timeline_telemetry.export.base import ExportResult, ExportStatus

from .batch import OtlpBatch

__all__ = ["TraceExporters"]

_log = logging.getLogger(__name__)


class TraceExporters:
    """The configured trace exporters, fed together. Owns them: ``shutdown`` stops all."""

    def __init__(self, exporters: Sequence[QueuedExporter[OtlpBatch]] = ()) -> None:
        self._exporters = tuple(exporters)

    def __iter__(self) -> Iterator[QueuedExporter[OtlpBatch]]:
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

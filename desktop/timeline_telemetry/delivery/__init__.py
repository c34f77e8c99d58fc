"""Delivery plumbing shared by every pushing exporter: a bounded queue, one worker thread,
retry with backoff, status and counters (:class:`QueuedExporter` around a :class:`Sender`).

Used by the trace exporters (``tracing``), the OTLP receiver's log file (``ingest``) and the
alert actions (``alerts.actions``); it knows none of them. Importing it starts nothing.
"""

from __future__ import annotations

from .queue import (
    LOG_COUNTERS,
    TRACE_COUNTERS,
    Batch,
    DeliveryError,
    ExportCounters,
    QueuedExporter,
    RetryPolicy,
    Sender,
)

__all__ = [
    "LOG_COUNTERS",
    "TRACE_COUNTERS",
    "Batch",
    "DeliveryError",
    "ExportCounters",
    "QueuedExporter",
    "RetryPolicy",
    "Sender",
]

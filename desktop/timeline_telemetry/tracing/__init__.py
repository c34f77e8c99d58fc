"""Tracing: the seed's Tracer API over the OpenTelemetry SDK, and the trace exporters.

Every exporter (Console, File, OTLP/HTTP, Jaeger-over-OTLP) is a small :class:`Sender`
wrapped by one :class:`QueuedExporter` (bounded queue, retry with backoff, status, counters);
:class:`TraceExporters` feeds them all, from the agent's own spans and from the OTLP receiver.
"""

from __future__ import annotations

from .api import Span, SpanBuilder, Tracer, TraceScope
from .batch import OtlpBatch, count_spans, trace_batch
from .build import build_trace_exporters, build_tracer
from .console import ConsoleSender, format_span
from .file import JsonLinesSender
from .jsonlines import message_from_json, message_to_json_line, read_json_lines
from .otlp_http import OtlpHttpSender, jaeger_otlp_url, otlp_signal_url, redact_url
from .pipeline import LoggingSpanProcessor, SdkBridge, TraceExporters
from .queue import (
    LOG_COUNTERS,
    TRACE_COUNTERS,
    DeliveryError,
    ExportCounters,
    QueuedExporter,
    RetryPolicy,
    Sender,
)

__all__ = [
    "LOG_COUNTERS",
    "TRACE_COUNTERS",
    "ConsoleSender",
    "DeliveryError",
    "ExportCounters",
    "JsonLinesSender",
    "LoggingSpanProcessor",
    "OtlpBatch",
    "OtlpHttpSender",
    "QueuedExporter",
    "RetryPolicy",
    "SdkBridge",
    "Sender",
    "Span",
    "SpanBuilder",
    "TraceExporters",
    "TraceScope",
    "Tracer",
    "build_trace_exporters",
    "build_tracer",
    "count_spans",
    "format_span",
    "jaeger_otlp_url",
    "message_from_json",
    "message_to_json_line",
    "otlp_signal_url",
    "read_json_lines",
    "redact_url",
    "trace_batch",
]

"""Tracing: the design document's Tracer API over the OpenTelemetry SDK, and the trace exporters.

Every exporter (Console, File, OTLP/HTTP, Jaeger-over-OTLP) is a small ``Sender`` wrapped by
one ``QueuedExporter`` (``timeline_telemetry.delivery``: bounded queue, retry with backoff,
status, counters); :class:`TraceExporters` feeds them all, from the agent's own spans and
from the OTLP receiver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .api import Span, SpanBuilder, Tracer, TraceScope
    from .batch import OtlpBatch, count_spans, trace_batch
    from .build import build_trace_exporters, build_tracer
    from .console import ConsoleSender, format_span
    from .file import JsonLinesSender
    from .jsonlines import message_from_json, message_to_json_line, read_json_lines
    from .otlp_http import OtlpHttpSender, jaeger_otlp_url, otlp_signal_url
    from .pipeline import TraceExporters
    from .sdk_bridge import LoggingSpanProcessor, SdkBridge

__all__ = [
    "ConsoleSender",
    "JsonLinesSender",
    "LoggingSpanProcessor",
    "OtlpBatch",
    "OtlpHttpSender",
    "SdkBridge",
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
    "trace_batch",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "Span": ".api",
    "SpanBuilder": ".api",
    "Tracer": ".api",
    "TraceScope": ".api",
    "OtlpBatch": ".batch",
    "count_spans": ".batch",
    "trace_batch": ".batch",
    "build_trace_exporters": ".build",
    "build_tracer": ".build",
    "ConsoleSender": ".console",
    "format_span": ".console",
    "JsonLinesSender": ".file",
    "message_from_json": ".jsonlines",
    "message_to_json_line": ".jsonlines",
    "read_json_lines": ".jsonlines",
    "OtlpHttpSender": ".otlp_http",
    "jaeger_otlp_url": ".otlp_http",
    "otlp_signal_url": ".otlp_http",
    "LoggingSpanProcessor": ".sdk_bridge",
    "SdkBridge": ".sdk_bridge",
    "TraceExporters": ".pipeline",
})

"""The OTLP/HTTP receiver the editor pushes its traces, metrics and logs to.

Received metrics go to the Metrics API (Prometheus names per the OTel compatibility rules,
the design document's application metrics under its names), spans to a bounded local
:class:`TraceStore` and the trace exporters, logs to a :class:`LogStore` and a logs file.
``telemetry.ingest.limits`` bound what a sender may cost (see :mod:`.limits`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .build import build_ingest
    from .codec import OtlpHttpError, decode_request, decompress, error_response, rpc_status_bytes
    from .histograms import apply_histogram, rebucket
    from .limits import IngestRejections
    from .log_store import LogStore, StoredLog
    from .metrics_sink import TARGET_INFO, MetricsOutcome, MetricsSink
    from .prom_names import label_name, labels_from_attributes, metric_name, prometheus_unit
    from .receiver import PORT_SETTING, OtlpReceiver, default_logs_file
    from .trace_store import StoredSpan, TraceStore, TraceSummary

__all__ = [
    "PORT_SETTING",
    "TARGET_INFO",
    "IngestRejections",
    "LogStore",
    "MetricsOutcome",
    "MetricsSink",
    "OtlpHttpError",
    "OtlpReceiver",
    "StoredLog",
    "StoredSpan",
    "TraceStore",
    "TraceSummary",
    "apply_histogram",
    "build_ingest",
    "decode_request",
    "decompress",
    "default_logs_file",
    "error_response",
    "label_name",
    "labels_from_attributes",
    "metric_name",
    "prometheus_unit",
    "rebucket",
    "rpc_status_bytes",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "build_ingest": ".build",
    "OtlpHttpError": ".codec",
    "decode_request": ".codec",
    "decompress": ".codec",
    "error_response": ".codec",
    "rpc_status_bytes": ".codec",
    "apply_histogram": ".histograms",
    "rebucket": ".histograms",
    "IngestRejections": ".limits",
    "LogStore": ".log_store",
    "StoredLog": ".log_store",
    "TARGET_INFO": ".metrics_sink",
    "MetricsOutcome": ".metrics_sink",
    "MetricsSink": ".metrics_sink",
    "label_name": ".prom_names",
    "labels_from_attributes": ".prom_names",
    "metric_name": ".prom_names",
    "prometheus_unit": ".prom_names",
    "PORT_SETTING": ".receiver",
    "OtlpReceiver": ".receiver",
    "default_logs_file": ".receiver",
    "StoredSpan": ".trace_store",
    "TraceStore": ".trace_store",
    "TraceSummary": ".trace_store",
})

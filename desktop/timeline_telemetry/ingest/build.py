"""Building the OTLP receiver from ``telemetry.ingest``."""

from __future__ import annotations

from timeline_telemetry.config.schema import DEFAULT_FILE_MAX_BYTES, TelemetryConfig
from timeline_telemetry.delivery import LOG_COUNTERS, QueuedExporter, RetryPolicy
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.net.http_server import HttpBounds
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.tracing.file import JsonLinesSender
from timeline_telemetry.tracing.pipeline import TraceExporters

from .receiver import OtlpReceiver, default_logs_file

__all__ = ["build_ingest"]

LOGS_FILE_BACKUPS = 3


def build_ingest(
    config: TelemetryConfig,
    *,
    metrics: Metrics,
    trace_exporters: TraceExporters | None,
    paths: AppPaths,
    policy: RetryPolicy | None = None,
) -> OtlpReceiver | None:
    """The receiver described by ``config.ingest`` (not started), or None when
    ``telemetry.enabled`` or ``ingest.otlp.enabled`` is false.

    ``trace_exporters`` (the tracer's, ``tracer.exporters``) receive the editor's spans;
    the receiver does not stop them. Received logs go to ``ingest.logs_file`` (default
    ``<data dir>/otlp-logs.jsonl``), rotated at 50 MiB with 3 old files kept. The listener is
    bounded by ``telemetry.http``.
    """
    ingest = config.ingest
    if not (config.enabled and ingest.otlp.enabled):
        return None
    logs_path = ingest.logs_file or default_logs_file(paths.data_dir)
    logs_exporter = QueuedExporter(
        JsonLinesSender(logs_path, max_bytes=DEFAULT_FILE_MAX_BYTES, backups=LOGS_FILE_BACKUPS,
                        what="logs"),
        metrics=metrics, counters=LOG_COUNTERS, policy=policy,
    )
    return OtlpReceiver(
        metrics=metrics,
        host=ingest.otlp.host,
        port=ingest.otlp.port,
        max_body_bytes=ingest.otlp.max_body_bytes,
        trace_store_max_traces=ingest.trace_store_max_traces,
        trace_exporters=trace_exporters,
        logs_exporter=logs_exporter,
        limits=ingest.limits,
        http=HttpBounds(
            header_timeout_s=config.http.header_timeout,
            min_body_rate=config.http.min_body_rate_bytes,
            idle_timeout_s=config.http.idle_timeout,
            max_connections=config.http.max_connections,
            reserved_connections=config.http.reserved_connections,
        ),
    )

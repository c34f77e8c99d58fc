"""Fixtures for the receiver tests: a started receiver on an ephemeral port (always stopped),
the upstream OTLP receiver of the tracing tests, and the real Python OTLP exporters."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracing"))

from otlp_upstream import UpstreamReceiver

from timeline_telemetry.config.schema import IngestLimitsConfig
from timeline_telemetry.delivery import LOG_COUNTERS, QueuedExporter, RetryPolicy
from timeline_telemetry.ingest import LogStore, OtlpReceiver, TraceStore
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import JsonLinesSender, TraceExporters

FAST_RETRY = RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, max_queue_items=50)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def upstream() -> Iterator[UpstreamReceiver]:
    server = UpstreamReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_receiver(
    metrics: Metrics, tmp_path: Path
) -> Iterator[Callable[..., OtlpReceiver]]:
    """``make_receiver(trace_exporters=..., max_body_bytes=..., max_traces=..., limits=...)``:
    started."""
    made: list[OtlpReceiver] = []

    def make(
        *,
        trace_exporters: TraceExporters | None = None,
        max_body_bytes: int = 4 * 1024 * 1024,
        max_traces: int = 1000,
        logs_file: Path | None = None,
        limits: IngestLimitsConfig | None = None,
    ) -> OtlpReceiver:
        logs = QueuedExporter(
            JsonLinesSender(logs_file or tmp_path / "logs.jsonl", max_bytes=1 << 20, backups=1,
                            what="logs"),
            metrics=metrics, counters=LOG_COUNTERS, policy=FAST_RETRY,
        )
        rec = OtlpReceiver(
            metrics=metrics, host="127.0.0.1", port=0, max_body_bytes=max_body_bytes,
            trace_store=TraceStore(max_traces=max_traces), log_store=LogStore(),
            trace_exporters=trace_exporters, logs_exporter=logs, limits=limits,
        )
        rec.start()
        made.append(rec)
        return rec

    try:
        yield make
    finally:
        for rec in made:
            rec.shutdown(2.0)


@pytest.fixture
def trace_exporters() -> Iterator[list[TraceExporters]]:
    """Trace exporters a test builds are registered here and always shut down."""
    made: list[TraceExporters] = []
    try:
        yield made
    finally:
        for t in made:
            t.shutdown(timeout_s=1.0)


def sdk_resource(**extra: Any) -> Any:
    from opentelemetry.sdk.resources import Resource

    return Resource({"service.name": "timeline-studio", "service.version": "9.9",
                     "service.instance.id": "editor-1", **extra})

"""Pushing with the real OpenTelemetry Python SDK and its OTLP/HTTP protobuf exporters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

RESOURCE = Resource({"service.name": "timeline-studio", "service.version": "9.9",
                     "service.instance.id": "editor-1", "host.name": "workstation"})


@dataclass
class SdkClient:
    """A tracer, meter and logger provider exporting to one OTLP/HTTP endpoint."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


def sdk_client(endpoint: str, *, gzip: bool = True, delta: bool = False,
               resource: Resource = RESOURCE) -> SdkClient:
    comp = Compression.Gzip if gzip else Compression.NoCompression
    tp = TracerProvider(resource=resource, shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", compression=comp)))
    temporality: dict[type, AggregationTemporality] = {}
    if delta:
        temporality = {Counter: AggregationTemporality.DELTA,
                       Histogram: AggregationTemporality.DELTA,
                       UpDownCounter: AggregationTemporality.DELTA}
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", compression=comp,
                           preferred_temporality=temporality),
        export_interval_millis=3_600_000,
    )
    mp = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    lp = LoggerProvider(resource=resource, shutdown_on_exit=False)
    lp.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", compression=comp)))
    return SdkClient(tp, mp, lp)


def python_logger(client: SdkClient, name: str = "editor") -> logging.Logger:
    """A stdlib logger whose records go to the SDK's OTLP log exporter only."""
    logger = logging.getLogger(f"sdk-push.{name}.{id(client)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(logger_provider=client.logger_provider))
    return logger


def attrs(**kw: Any) -> dict[str, Any]:
    return kw

"""The OTLP/HTTP receiver the editor pushes to: ``/v1/traces``, ``/v1/metrics``, ``/v1/logs``.

Listens on its own :class:`LocalHttpServer` (default ``127.0.0.1:4318``, the OTLP/HTTP port,
so an SDK's ``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`` just works). Per signal:

* traces -> the :class:`TraceStore` (last N traces) and every trace exporter (File, OTLP,
  Jaeger: the monitor forwards for the editor);
* metrics -> the :class:`Metrics` API through :class:`MetricsSink` (so /metrics, the history
  and alert rules see them);
* logs -> the :class:`LogStore` and the logs file (OTLP/JSON lines, rotated).

Before any of that, ``telemetry.ingest.limits`` apply (see :mod:`.limits`): span ids are
checked (a bad one makes the request a 400), spans ending before they start are refused,
attributes are capped, and metric names and series are admitted or refused; what was
refused is reported in the reply's ``partial_success``, and what was kept but cut (attributes
dropped or truncated) is named there too, as a warning with nothing rejected (as OTLP allows).

Request handling is in the connection's thread and never waits for an exporter (they queue).
Protobuf, the OTLP message classes and the stores are imported when the first request
arrives (or a store is first read): an agent the editor never pushes to does not carry them
(about 4 MB of resident memory).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from timeline_telemetry.config.schema import IngestLimitsConfig
from timeline_telemetry.delivery import QueuedExporter
from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.health.ingest import IngestLimitHit
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.net.http_server import HttpBounds, LocalHttpServer, Request, Response
from timeline_telemetry.net.loop_guard import INSTANCE_HEADER, instance_id
from timeline_telemetry.tracing.batch import OtlpBatch, count_spans
from timeline_telemetry.tracing.pipeline import TraceExporters

from .limits import IngestRejections

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from .log_store import LogStore
    from .metrics_sink import MetricsSink
    from .trace_store import TraceStore

__all__ = ["PORT_SETTING", "OtlpReceiver"]

_log = logging.getLogger(__name__)

PORT_SETTING = "telemetry.ingest.otlp.port"
M = TypeVar("M", bound="Message")
_T = TypeVar("_T")


class OtlpReceiver:
    """OTLP/HTTP receiver. ``trace_exporters`` are borrowed (their owner stops them);
    ``logs_exporter`` (the logs file) is owned and stopped by :meth:`shutdown`. ``http``
    bounds the listener's connections (``telemetry.http``)."""

    def __init__(
        self,
        *,
        metrics: Metrics,
        host: str = "127.0.0.1",
        port: int = 4318,
        max_body_bytes: int = 16 * 1024 * 1024,
        trace_store: TraceStore | None = None,
        trace_store_max_traces: int = 1000,
        log_store: LogStore | None = None,
        trace_exporters: TraceExporters | None = None,
        logs_exporter: QueuedExporter[OtlpBatch] | None = None,
        sink: MetricsSink | None = None,
        limits: IngestLimitsConfig | None = None,
        rejections: IngestRejections | None = None,
        http: HttpBounds | None = None,
    ) -> None:
        self.metrics = metrics
        self.limits = limits or (sink.limits if sink is not None else IngestLimitsConfig())
        #: What the limits refused or cut (the ``ingest`` health check reads :meth:`limit_hits`).
        self.rejections = rejections or IngestRejections(metrics)
        self.max_body_bytes = max_body_bytes
        self._lazy_lock = threading.Lock()
        self._trace_store = trace_store
        self._max_traces = trace_store.max_traces if trace_store is not None else (
            trace_store_max_traces)
        self._log_store = log_store
        self._sink = sink
        self.trace_exporters = trace_exporters if trace_exporters is not None else TraceExporters()
        self.logs_exporter = logs_exporter
        #: Called with each logs request once it is capped and masked (the manager's
        #: ``telemetry.logs``: the ECS file, the OTLP logs exporters); its errors are logged.
        self.log_listener: Callable[[ExportLogsServiceRequest, int], None] | None = None
        self._loop_logged = False
        self.server = LocalHttpServer(
            host, port, max_body_bytes=max_body_bytes, setting=PORT_SETTING, env=None,
            body_error=_body_error, bounds=http,
        )
        self.server.add_route("/v1/traces", self._traces, methods=("POST",))
        self.server.add_route("/v1/metrics", self._metrics, methods=("POST",))
        self.server.add_route("/v1/logs", self._logs, methods=("POST",))

    # -- the stores, made on first use ----------------------------------------------------
    @property
    def trace_store(self) -> TraceStore:
        """The last ``trace_store_max_traces`` traces received (the dashboard reads it)."""
        def make() -> TraceStore:
            from .trace_store import TraceStore

            return TraceStore(max_traces=self._max_traces)

        return self._made("_trace_store", make)

    @property
    def log_store(self) -> LogStore:
        """The recent log records received."""
        def make() -> LogStore:
            from .log_store import LogStore

            return LogStore()

        return self._made("_log_store", make)

    @property
    def sink(self) -> MetricsSink:
        """Where received metrics go (into :class:`Metrics`)."""
        def make() -> MetricsSink:
            from .metrics_sink import MetricsSink

            return MetricsSink(self.metrics, limits=self.limits, rejections=self.rejections)

        return self._made("_sink", make)

    @property
    def has_trace_store(self) -> bool:
        """True once the trace store exists (a span arrived, or it was read or loaded)."""
        return self._trace_store is not None

    def _made(self, attr: str, make: Callable[[], _T]) -> _T:
        value: _T | None = getattr(self, attr)
        if value is None:
            with self._lazy_lock:
                value = getattr(self, attr)
                if value is None:
                    value = make()
                    setattr(self, attr, value)
        return value

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the logs file writer and bind the port (``PortInUseError`` names
        ``telemetry.ingest.otlp.port``)."""
        if self.logs_exporter is not None:
            self.logs_exporter.start()
        try:
            self.server.start()
        except BaseException:
            if self.logs_exporter is not None:
                self.logs_exporter.shutdown(timeout_s=1.0)
            raise

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop accepting (requests in progress finish), then flush the logs file."""
        self.server.shutdown(timeout_s)
        if self.logs_exporter is not None:
            self.logs_exporter.shutdown(timeout_s=timeout_s)

    @property
    def bound_port(self) -> int:
        """The port actually bound (differs from the configured one when that is 0)."""
        return self.server.bound_port

    @property
    def endpoint(self) -> str:
        """The base URL to give an SDK as ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return self.server.url()

    def status(self) -> ExportStatus:
        """Healthy while serving; Failed if the server died; Degraded before start."""
        if self.server.failure:
            return ExportStatus.failed(self.server.failure)
        if not self.server.running:
            return ExportStatus.degraded("not running")
        return ExportStatus.healthy()

    def limit_hits(self) -> list[IngestLimitHit]:
        """What the ingest limits refused or cut, per signal and reason."""
        return self.rejections.hits()

    def describe(self) -> str:
        """One line for the startup log."""
        where = self.endpoint if self.server.running else f"{self.server.host}:{self.server.port}"
        forwards = len(self.trace_exporters)
        logs = (f"logs to {getattr(self.logs_exporter.sender, 'path', '?')}"
                if self.logs_exporter is not None else "logs kept in memory only")
        return (
            f"OTLP/HTTP receiver on {where} (/v1/traces, /v1/metrics, /v1/logs; protobuf or "
            f"JSON, gzip; max body {self.max_body_bytes} bytes): keeping the last "
            f"{self._max_traces} traces, forwarding traces to {forwards} "
            f"exporter{'s' if forwards != 1 else ''}, {logs}"
        )

    # -- handlers -------------------------------------------------------------------------
    def _traces(self, req: Request) -> Response:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        from .codec import OtlpHttpError
        from .spans import apply_span_limits, invalid_ids

        def handle(msg: ExportTraceServiceRequest) -> Message:
            bad, problem = invalid_ids(msg)
            if bad:
                self.rejections.record("traces", "invalid_id", bad, problem)
                raise OtlpHttpError(400, f"{bad} span(s) with an invalid id, e.g. {problem}; "
                                         "nothing was accepted")
            limited = apply_span_limits(msg, self.limits, self.rejections)
            n = count_spans(msg)
            self._count("traces", n + limited.rejected)
            self.trace_store.add_request(msg)
            self.metrics.set_gauge("telemetry_trace_store_traces", len(self.trace_store))
            self.metrics.set_gauge("telemetry_trace_store_spans", self.trace_store.span_count)
            if len(self.trace_exporters) and n:
                self.trace_exporters.export(OtlpBatch(msg, n))
            resp = ExportTraceServiceResponse()
            if limited.rejected:
                self._rejected("traces", limited.rejected)
                resp.partial_success.rejected_spans = limited.rejected
            if limited.rejected or limited.warnings:  # a warning alone: rejected stays 0
                resp.partial_success.error_message = "; ".join(
                    limited.errors + limited.warnings)
            return resp

        return self._serve(req, "traces", ExportTraceServiceRequest, handle)

    def _metrics(self, req: Request) -> Response:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
        )

        def handle(msg: ExportMetricsServiceRequest) -> Message:
            outcome = self.sink.apply(msg)
            self._count("metrics", outcome.accepted + outcome.rejected)
            resp = ExportMetricsServiceResponse()
            if outcome.rejected:
                self._rejected("metrics", outcome.rejected)
                resp.partial_success.rejected_data_points = outcome.rejected
                _log.debug("rejected %d metric data points: %s", outcome.rejected,
                           "; ".join(outcome.errors))
            if outcome.rejected or outcome.warnings:  # a warning alone: rejected stays 0
                resp.partial_success.error_message = "; ".join(
                    outcome.errors + outcome.warnings)
            return resp

        return self._serve(req, "metrics", ExportMetricsServiceRequest, handle)

    def _logs(self, req: Request) -> Response:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest,
            ExportLogsServiceResponse,
        )

        from .logs import apply_log_limits

        def handle(msg: ExportLogsServiceRequest) -> Message:
            warnings = apply_log_limits(msg, self.limits, self.rejections)
            n = self.log_store.add_request(msg)
            self._count("logs", n)
            if self.logs_exporter is not None and n:
                self.logs_exporter.export(OtlpBatch(msg, n))
            if self.log_listener is not None and n:
                try:
                    self.log_listener(msg, n)
                except Exception:  # the editor's request is accepted whatever happens here
                    _log.exception("handing received log records on failed")
            resp = ExportLogsServiceResponse()
            if warnings:  # nothing is refused: rejected_log_records stays 0
                resp.partial_success.error_message = "; ".join(warnings)
            return resp

        return self._serve(req, "logs", ExportLogsServiceRequest, handle)

    def _serve(
        self, req: Request, signal: str, message_type: type[M], handle: Callable[[M], Message]
    ) -> Response:
        from .codec import (
            OtlpHttpError,
            decode_request,
            encode_response,
            error_response,
            response_type,
        )

        kind = response_type(req)
        if req.header(INSTANCE_HEADER.lower()) == instance_id():
            self._request(signal, 400)
            self.metrics.increment_counter("telemetry_otlp_loop_refused_total", 1,
                                           {"signal": signal})
            if not self._loop_logged:
                self._loop_logged = True
                _log.warning("refused OTLP %s sent by this agent's own exporter: a trace "
                             "exporter points at this receiver (%s), which would loop "
                             "forever; point tracing.exporters elsewhere", signal,
                             self.endpoint)
            return error_response(400, "loop: this is the sending agent's own OTLP "
                                  f"receiver ({self.endpoint}); nothing was accepted", kind)
        try:
            msg = decode_request(req, message_type, max_body_bytes=self.max_body_bytes)
        except OtlpHttpError as exc:
            self._request(signal, exc.status)
            _log.debug("OTLP %s request from %s refused (%d): %s", signal, req.client[0],
                       exc.status, exc.message)
            return error_response(exc.status, exc.message, kind)
        try:
            resp = handle(msg)
        except OtlpHttpError as exc:  # permanently invalid data found while handling
            self._request(signal, exc.status)
            _log.debug("OTLP %s request from %s refused (%d): %s", signal, req.client[0],
                       exc.status, exc.message)
            return error_response(exc.status, exc.message, kind)
        self._request(signal, 200)
        return encode_response(resp, kind)

    def _request(self, signal: str, code: int) -> None:
        self.metrics.increment_counter(
            "telemetry_otlp_requests_total", 1, {"signal": signal, "code": str(code)}
        )

    def _rejected(self, signal: str, n: int) -> None:
        self.metrics.increment_counter("telemetry_otlp_rejected_items_total", n,
                                       {"signal": signal})

    def _count(self, signal: str, n: int) -> None:
        if n:
            self.metrics.increment_counter(
                "telemetry_otlp_received_items_total", n, {"signal": signal}
            )


def _body_error(status: int, message: str, req_headers: Mapping[str, str]) -> Response:
    """413/400 decided by the HTTP server before routing, as an OTLP Status body."""
    from .codec import error_response

    kind = "application/json" if req_headers.get("content-type", "").startswith(
        "application/json") else "application/x-protobuf"
    return error_response(status, message, kind)


def default_logs_file(data_dir: Path) -> Path:
    """Where received logs go unless ``telemetry.ingest.logs_file`` says otherwise."""
    return data_dir / "otlp-logs.jsonl"

"""``logs.exporters``: log records to an OpenTelemetry Collector over OTLP/HTTP.

The editor's own OTLP log records are forwarded as they came (resource and scope kept); the
agent's log records and the editor's log-file lines are batched here into OTLP log records
(one resource per ``service.name``) and sent through the same queued, retried sender as the
trace exporters (``tracing.otlp_http``: secret-reference headers, gzip, the loop guard).
Bounded: at most ``max_pending`` records wait for the next flush; more are counted in
``dropped`` and said once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from timeline_telemetry.delivery import QueuedExporter
from timeline_telemetry.redact import redact_text
from timeline_telemetry.tracing.batch import OtlpBatch

__all__ = ["LogForwarder"]

_log = logging.getLogger(__name__)

#: Python logging levels -> OTLP severity numbers (the log data model's mapping).
_SEVERITY = ((logging.CRITICAL, 21), (logging.ERROR, 17), (logging.WARNING, 13),
             (logging.INFO, 9), (logging.DEBUG, 5))


def severity_number(level: int) -> int:
    """The OTLP severity number of a Python logging level."""
    for floor, number in _SEVERITY:
        if level >= floor:
            return number
    return 1


class LogForwarder:
    """Feeds ``exporters`` (queued OTLP/HTTP log senders, started and stopped here)."""

    def __init__(self, exporters: Sequence[QueuedExporter[OtlpBatch]], *,
                 max_pending: int = 2048) -> None:
        self.exporters = tuple(exporters)
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._pending: dict[str, list[LogRecord]] = {}
        self._count = 0
        self.dropped = 0
        self._said_full = False

    def start(self) -> None:
        """Start every sender's worker."""
        for exp in self.exporters:
            exp.start()

    def forward_request(self, request: ExportLogsServiceRequest, items: int) -> None:
        """The editor's request as it came (already capped and masked by the receiver)."""
        for exp in self.exporters:
            exp.export(OtlpBatch(request, items))

    def add(self, message: str, *, level: int, level_name: str, logger: str, service: str,
            created: float | None = None, trace_id: str | None = None,
            span_id: str | None = None, attributes: Mapping[str, str] | None = None) -> None:
        """Queue one record for the next :meth:`flush` (``message`` is masked here)."""
        rec = LogRecord(
            time_unix_nano=int((created or time.time()) * 1e9),
            observed_time_unix_nano=time.time_ns(),
            severity_number=severity_number(level),  # type: ignore[arg-type]
            severity_text=level_name.upper(),
            body=AnyValue(string_value=redact_text(message)),
        )
        rec.attributes.append(KeyValue(key="log.logger", value=AnyValue(string_value=logger)))
        for key, value in (attributes or {}).items():
            rec.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        if trace_id and span_id:
            with contextlib.suppress(ValueError):  # not hex: the record goes without ids
                rec.trace_id, rec.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
        with self._lock:
            if self._count >= self._max_pending:
                self.dropped += 1
                full = not self._said_full
                self._said_full = True
            else:
                self._pending.setdefault(service, []).append(rec)
                self._count += 1
                full = False
        if full:  # outside the lock: this line comes back through add()
            _log.warning("logs exporters: more than %d records waiting; dropping until the "
                         "next flush", self._max_pending)

    def flush(self) -> int:
        """Send what is pending as one request per flush; returns the records sent."""
        with self._lock:
            pending, self._pending = self._pending, {}
            n, self._count = self._count, 0
            self._said_full = False
        if not n:
            return 0
        req = ExportLogsServiceRequest()
        for service, records in pending.items():
            rl = req.resource_logs.add()
            rl.resource.attributes.append(
                KeyValue(key="service.name", value=AnyValue(string_value=service)))
            sl = rl.scope_logs.add()
            sl.scope.name = "timeline-telemetry"
            sl.log_records.extend(records)
        self.forward_request(req, n)
        return n

    def shutdown(self, timeout_s: float) -> None:
        """Flush, then stop the senders (each gets what is left of ``timeout_s``)."""
        self.flush()
        deadline = time.monotonic() + timeout_s
        for exp in self.exporters:
            exp.shutdown(timeout_s=max(0.1, deadline - time.monotonic()))

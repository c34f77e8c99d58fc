"""Received log records: the last N kept in memory (newest last), queryable.

Records stay protobuf messages until read (cheap to keep); :class:`StoredLog` is the value a
query returns. Writing to the logs file is the receiver's (through a queued exporter).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from timeline_telemetry.otlp.values import any_value_text

__all__ = ["LogStore", "StoredLog"]


@dataclass(frozen=True, slots=True)
class StoredLog:
    """One received log record. ``severity`` is the OTLP number (9 INFO, 13 WARN, 17
    ERROR); ``time_ns`` is the record's time, or when it was observed if it has none."""

    time_ns: int
    severity: int
    severity_text: str
    body: str
    service: str
    trace_id: str
    span_id: str
    attributes: tuple[tuple[str, str], ...]


class LogStore:
    """Thread-safe ring of the last ``max_records`` log records."""

    def __init__(self, *, max_records: int = 10_000) -> None:
        self._records: deque[tuple[LogRecord, str]] = deque(maxlen=max_records)
        self._lock = threading.Lock()
        self.received = 0

    def add_request(self, request: ExportLogsServiceRequest) -> int:
        """Keep every record of ``request``; returns how many."""
        n = 0
        with self._lock:
            for rl in request.resource_logs:
                service = next((kv.value.string_value for kv in rl.resource.attributes
                                if kv.key == "service.name"), "")
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        self._records.append((rec, service))
                        n += 1
            self.received += n
        return n

    def recent(
        self,
        *,
        limit: int = 100,
        min_severity: int = 0,
        trace_id: str | None = None,
        contains: str | None = None,
    ) -> list[StoredLog]:
        """The newest matching records, oldest first."""
        with self._lock:
            items = list(self._records)
        out: list[StoredLog] = []
        for rec, service in reversed(items):
            if rec.severity_number < min_severity:
                continue
            if trace_id is not None and rec.trace_id.hex() != trace_id:
                continue
            view = _view(rec, service)
            if contains is not None and contains not in view.body:
                continue
            out.append(view)
            if len(out) >= limit:
                break
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self._records)


def _view(rec: LogRecord, service: str) -> StoredLog:
    return StoredLog(
        time_ns=rec.time_unix_nano or rec.observed_time_unix_nano,
        severity=int(rec.severity_number),
        severity_text=rec.severity_text,
        body=any_value_text(rec.body),
        service=service,
        trace_id=rec.trace_id.hex(),
        span_id=rec.span_id.hex(),
        attributes=tuple((kv.key, any_value_text(kv.value)) for kv in rec.attributes),
    )

"""Received log records: the last N kept in memory (newest last), queryable.

Records stay protobuf messages until read (cheap to keep); :class:`StoredLog` is the value a
query returns. Writing to the logs file is the receiver's (through a queued exporter).

Secrets are masked as records are stored (:mod:`timeline_telemetry.redact`, the redaction of
the diagnostics bundle): string bodies and attribute values, and a whole string value under
a secret-looking key (``password``, ``authorization``, ``api_key``...; numbers and booleans
are kept: ``input_tokens`` is a count), in nested maps and lists too, so neither the
dashboard nor a bundle ever sees them. The request is changed in place, so the logs file the
receiver writes after it holds the masked records too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from timeline_telemetry.otlp.values import any_value_text
from timeline_telemetry.redact import MASK, SECRET_KEY, redact_text

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
    """Thread-safe ring of the last ``max_records`` log records (secrets masked on the way
    in; ``redacted`` counts the records that had some)."""

    def __init__(self, *, max_records: int = 10_000) -> None:
        self._records: deque[tuple[LogRecord, str]] = deque(maxlen=max_records)
        self._lock = threading.Lock()
        self.received = 0
        self.redacted = 0

    def add_request(self, request: ExportLogsServiceRequest) -> int:
        """Keep every record of ``request`` (masking secrets in it, in place); returns how
        many."""
        n = 0
        redacted = 0
        for rl in request.resource_logs:  # outside the lock: queries are not held up
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    redacted += _redact_record(rec)
        with self._lock:
            for rl in request.resource_logs:
                service = next((kv.value.string_value for kv in rl.resource.attributes
                                if kv.key == "service.name"), "")
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        self._records.append((rec, service))
                        n += 1
            self.received += n
            self.redacted += redacted
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

_NUMBERS = frozenset({"int_value", "double_value", "bool_value"})


def _redact_record(rec: LogRecord) -> int:
    """Mask secrets in ``rec``'s body and attributes in place; 1 if anything was masked."""
    changed = _redact_value(rec.body, secret=False)
    return int(_redact_attributes(rec.attributes) or changed)


def _redact_attributes(attributes: Iterable[KeyValue], *, secret: bool = False) -> bool:
    changed = False
    for kv in attributes:
        hidden = secret or bool(SECRET_KEY.search(kv.key))
        changed = _redact_value(kv.value, secret=hidden) or changed
    return changed


def _redact_value(value: AnyValue, *, secret: bool) -> bool:
    """Mask ``value`` in place (all of it when ``secret``); whether it changed."""
    kind = value.WhichOneof("value")
    if kind is None:
        return False
    if kind == "array_value":
        changed = False
        for item in value.array_value.values:
            changed = _redact_value(item, secret=secret) or changed
        return changed
    if kind == "kvlist_value":
        return _redact_attributes(value.kvlist_value.values, secret=secret)
    if kind in _NUMBERS:  # counts such as gen_ai.usage.input_tokens, not secrets
        return False
    if secret:
        if kind == "string_value" and value.string_value in ("", MASK):
            return False
        value.string_value = MASK  # bytes under a secret key too
        return True
    if kind != "string_value":
        return False
    text = value.string_value
    masked = redact_text(text)
    if masked == text:
        return False
    value.string_value = masked
    return True

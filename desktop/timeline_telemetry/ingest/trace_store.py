"""The local trace store: the last N traces received (or recorded), queryable in memory.

Bounded twice: at most ``max_traces`` traces (the least recently updated is evicted first)
and at most ``max_spans_per_trace`` spans in one trace (later spans of a runaway trace are
counted in ``dropped_spans``). Spans are kept as their protobuf messages and turned into
:class:`StoredSpan` values only when queried, so storing costs a few dictionary operations
per span (the receiver must take 20,000 spans/s).

Queries: :meth:`TraceStore.trace` (by id), :meth:`TraceStore.find` by name, service,
minimum duration ("spans longer than 30 s", the design document's troubleshooting case) and errors.
:meth:`TraceStore.export` gives a bounded JSON-able list for the local API and the support
bundle: the error spans first, then the others by start time.

Persistence: :meth:`TraceStore.save` writes the store to a bounded JSON-lines file (the
runtime does it at stop, ``<data dir>/trace-store.jsonl``) and :meth:`TraceStore.load` reads
it back (at start), so the spans survive a restart and a bundle made after the agent stopped
has them. A line that cannot be read is skipped and counted, never raised.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from timeline_telemetry.otlp.values import any_value_text

from .trace_files import EXPORT_LIMIT_MAX, PERSIST_FILE

__all__ = [
    "EXPORT_LIMIT_MAX",
    "PERSIST_FILE",
    "PERSIST_MAX_BYTES",
    "StoredSpan",
    "TraceStore",
    "TraceSummary",
    "span_json",
]

_log = logging.getLogger("timeline_telemetry.ingest.trace_store")

#: The file's size bound: the most recently updated traces are kept when it is reached.
PERSIST_MAX_BYTES = 16 * 1024 * 1024
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """One span as the store returns it. Ids are hex; times are Unix nanoseconds."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    service: str
    start_ns: int
    end_ns: int
    attributes: tuple[tuple[str, str], ...]
    events: tuple[str, ...]
    error: bool
    status_message: str
    kind: int

    @property
    def duration_s(self) -> float:
        """End minus start, in seconds."""
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def is_root(self) -> bool:
        """True for a span without parent."""
        return not self.parent_span_id


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace at a glance."""

    trace_id: str
    root_name: str
    service: str
    spans: int
    start_ns: int
    duration_s: float
    errors: int


class _Trace:
    __slots__ = ("spans",)

    def __init__(self) -> None:
        self.spans: list[tuple[Span, str]] = []


class TraceStore:
    """Thread-safe bounded store of traces (see the module doc)."""

    def __init__(self, *, max_traces: int = 1000, max_spans_per_trace: int = 10_000) -> None:
        if max_traces < 1:
            raise ValueError(f"max_traces must be >= 1, got {max_traces}")
        self.max_traces = max_traces
        self.max_spans_per_trace = max_spans_per_trace
        self._lock = threading.Lock()
        self._traces: OrderedDict[bytes, _Trace] = OrderedDict()
        self._span_count = 0
        self.dropped_spans = 0
        self.evicted_traces = 0

    def add_request(self, request: ExportTraceServiceRequest) -> int:
        """Store every span of ``request``; returns how many were stored."""
        stored = 0
        with self._lock:
            traces = self._traces
            for rs in request.resource_spans:
                service = ""
                for kv in rs.resource.attributes:
                    if kv.key == "service.name":
                        service = kv.value.string_value
                        break
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        stored += self._add_locked(traces, span, service)
            self._span_count += stored
        return stored

    def _add_locked(self, traces: OrderedDict[bytes, _Trace], span: Span, service: str) -> int:
        tid = span.trace_id
        trace = traces.get(tid)
        if trace is None:
            trace = traces[tid] = _Trace()
            if len(traces) > self.max_traces:
                _, old = traces.popitem(last=False)
                self._span_count -= len(old.spans)
                self.evicted_traces += 1
        else:
            traces.move_to_end(tid)
        if len(trace.spans) >= self.max_spans_per_trace:
            self.dropped_spans += 1
            return 0
        trace.spans.append((span, service))
        return 1

    # -- queries --------------------------------------------------------------------------
    def trace(self, trace_id: str) -> list[StoredSpan]:
        """The spans of one trace (32 hex digits), by start time; empty if unknown."""
        try:
            key = bytes.fromhex(trace_id)
        except ValueError:
            return []
        with self._lock:
            trace = self._traces.get(key)
            spans = list(trace.spans) if trace is not None else []
        return sorted((_view(s, svc) for s, svc in spans), key=lambda s: s.start_ns)

    def find(
        self,
        *,
        name: str | None = None,
        service: str | None = None,
        min_duration_s: float | None = None,
        errors_only: bool = False,
        limit: int = 100,
    ) -> list[StoredSpan]:
        """Spans matching every given filter, longest first (at most ``limit``).

        ``name`` is an exact span name; ``min_duration_s`` keeps spans lasting at least that.
        """
        min_ns = None if min_duration_s is None else int(min_duration_s * 1e9)
        hits: list[tuple[Span, str]] = []
        for span, svc in self._all_spans():
            if name is not None and span.name != name:
                continue
            if service is not None and svc != service:
                continue
            if min_ns is not None and span.end_time_unix_nano - span.start_time_unix_nano < min_ns:
                continue
            if errors_only and span.status.code != Status.STATUS_CODE_ERROR:
                continue
            hits.append((span, svc))
        hits.sort(key=lambda h: h[0].start_time_unix_nano - h[0].end_time_unix_nano)
        return [_view(s, svc) for s, svc in hits[: max(0, limit)]]

    def traces(self, *, limit: int = 100) -> list[TraceSummary]:
        """The most recently updated traces first."""
        with self._lock:
            recent = [(tid, list(t.spans)) for tid, t in
                      list(reversed(self._traces.items()))[: max(0, limit)]]
        out: list[TraceSummary] = []
        for tid, spans in recent:
            roots = [s for s in spans if not s[0].parent_span_id] or spans
            root, service = min(roots, key=lambda s: s[0].start_time_unix_nano)
            start = min(s.start_time_unix_nano for s, _ in spans)
            end = max(s.end_time_unix_nano for s, _ in spans)
            errors = sum(1 for s, _ in spans if s.status.code == Status.STATUS_CODE_ERROR)
            out.append(TraceSummary(tid.hex(), root.name, service, len(spans), start,
                                    max(0, end - start) / 1e9, errors))
        return out

    def export(self, *, since_ns: int = 0, limit: int = 1000) -> list[dict[str, object]]:
        """Spans ending at or after ``since_ns`` (Unix ns) as JSON-able dicts
        (:func:`span_json`), at most ``limit`` (capped at :data:`EXPORT_LIMIT_MAX`): the
        error spans first, then the others, each part by start time. When the limit cuts,
        error spans are kept before the others, and the newest before the oldest."""
        limit = max(0, min(limit, EXPORT_LIMIT_MAX))
        errors: list[tuple[Span, str]] = []
        others: list[tuple[Span, str]] = []
        for span, svc in self._all_spans():
            if span.end_time_unix_nano < since_ns:
                continue
            (errors if span.status.code == Status.STATUS_CODE_ERROR else others).append(
                (span, svc))
        newest_first = sorted(errors, key=_end_key) + sorted(others, key=_end_key)
        kept = newest_first[:limit]
        chosen_errors = [h for h in kept if h[0].status.code == Status.STATUS_CODE_ERROR]
        chosen_others = [h for h in kept if h[0].status.code != Status.STATUS_CODE_ERROR]
        out = sorted(chosen_errors, key=_start_key) + sorted(chosen_others, key=_start_key)
        return [span_json(_view(s, svc)) for s, svc in out]

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path, *, max_bytes: int = PERSIST_MAX_BYTES) -> int:
        """Write the store to ``path`` (JSON lines, one span each; written next to it and
        renamed into place). At most ``max_bytes``: the most recently updated traces are
        kept first. Returns the spans written; ``OSError`` if it cannot be written."""
        with self._lock:
            snapshot = [list(t.spans) for t in self._traces.values()]
        chunks: list[list[bytes]] = []
        size = 0
        for spans in reversed(snapshot):  # newest trace first gets the budget
            lines = [_persist_line(span, svc) for span, svc in spans]
            cost = sum(len(line) for line in lines)
            if size + cost > max_bytes:
                break
            chunks.append(lines)
            size += cost
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        written = 0
        try:
            with open(tmp, "wb") as f:
                for lines in reversed(chunks):  # oldest first: load() keeps the order
                    f.writelines(lines)
                    written += len(lines)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return written

    def load(self, path: Path, *, max_bytes: int = PERSIST_MAX_BYTES) -> int:
        """Add the spans saved in ``path``; returns how many were stored. A missing file
        adds nothing; an unreadable, oversized or corrupt file (or line) is skipped with a
        log line, never raised."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > 2 * max_bytes:
                _log.warning("trace store file %s ignored: %d bytes, over the bound of %d",
                             path, size, 2 * max_bytes)
                return 0
            data = path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            _log.warning("trace store file %s could not be read: %s", path, exc)
            return 0
        bad = stored = 0
        parsed: list[tuple[Span, str]] = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                if not isinstance(doc, dict) or doc.get("v") != _FORMAT:
                    raise ValueError("not a trace store line")
                span = Span.FromString(base64.b64decode(str(doc["span"]), validate=True))
                service = str(doc.get("service", ""))
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    raise ValueError("bad ids")
            except Exception:  # protobuf's DecodeError, KeyError, binascii.Error, ...
                bad += 1
                continue
            parsed.append((span, service))
        with self._lock:
            for span, service in parsed:
                stored += self._add_locked(self._traces, span, service)
            self._span_count += stored
        if bad:
            _log.warning("trace store file %s: %d unreadable lines skipped (truncated or "
                         "corrupt), %d spans read back", path, bad, stored)
        return stored

    def __len__(self) -> int:
        return len(self._traces)

    @property
    def span_count(self) -> int:
        """Spans currently kept."""
        return self._span_count

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._traces.clear()
            self._span_count = 0

    def _all_spans(self) -> Iterator[tuple[Span, str]]:
        with self._lock:
            snapshot = [list(t.spans) for t in self._traces.values()]
        for spans in snapshot:
            yield from spans


def _view(span: Span, service: str) -> StoredSpan:
    return StoredSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        name=span.name,
        service=service,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        attributes=tuple((kv.key, any_value_text(kv.value)) for kv in span.attributes),
        events=tuple(e.name for e in span.events),
        error=span.status.code == Status.STATUS_CODE_ERROR,
        status_message=span.status.message,
        kind=int(span.kind),
    )


def span_json(span: StoredSpan) -> dict[str, object]:
    """One span as the local API and the bundle write it (times also as RFC 3339 with the
    local offset)."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "service": span.service,
        "status": "error" if span.error else "ok",
        "status_message": span.status_message,
        "start": _rfc3339(span.start_ns),
        "end": _rfc3339(span.end_ns),
        "start_unix_nano": span.start_ns,
        "end_unix_nano": span.end_ns,
        "duration_s": round(span.duration_s, 6),
        "kind": span.kind,
        "attributes": dict(span.attributes),
        "events": list(span.events),
    }


def _rfc3339(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9).astimezone().isoformat(timespec="milliseconds")


def _end_key(hit: tuple[Span, str]) -> int:
    return -hit[0].end_time_unix_nano


def _start_key(hit: tuple[Span, str]) -> int:
    return hit[0].start_time_unix_nano


def _persist_line(span: Span, service: str) -> bytes:
    doc = {"v": _FORMAT, "service": service,
           "span": base64.b64encode(span.SerializeToString()).decode("ascii")}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8") + b"\n"

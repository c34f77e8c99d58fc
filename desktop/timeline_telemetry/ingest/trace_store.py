"""The local trace store: the last N traces received (or recorded), queryable in memory.

Bounded twice: at most ``max_traces`` traces (the least recently updated is evicted first)
and at most ``max_spans_per_trace`` spans in one trace (later spans of a runaway trace are
counted in ``dropped_spans``). Spans are kept as their protobuf messages and turned into
:class:`StoredSpan` values only when queried, so storing costs a few dictionary operations
per span (the receiver must take 20,000 spans/s).

Queries: :meth:`TraceStore.trace` (by id), :meth:`TraceStore.find` by name, service,
minimum duration ("spans longer than 30 s", the design document's troubleshooting case) and errors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from timeline_telemetry.otlp.values import any_value_text

__all__ = ["StoredSpan", "TraceStore", "TraceSummary"]


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
                            continue
                        trace.spans.append((span, service))
                        stored += 1
            self._span_count += stored
        return stored

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

"""The design document's tracing API (``Tracer``, spans, span builder) over the OpenTelemetry SDK.

``with tracer.trace("render") as span:`` or ``@tracer.trace("render")`` runs a block in a new
span that becomes the current one (children nest under it); ``await tracer.trace_async(name,
fn)`` does the same for a coroutine function and passes the span in, as the design document does;
``tracer.span_builder(name).with_attribute(k, v).with_parent(span).start()`` makes a span
by hand that the caller ends. An exception leaving a span is recorded on it and the span's
status becomes ERROR; the exception propagates.

A :class:`Span` is a thin wrapper over the SDK span (the extra cost is one method call per
operation); calls on an ended or unsampled span do nothing.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from timeline_telemetry.export.base import ExportStatus

from .pipeline import TraceExporters

__all__ = ["Span", "SpanBuilder", "TraceScope", "Tracer"]

P = ParamSpec("P")
T = TypeVar("T")
Attributes = Mapping[str, AttributeValue]


class Span:
    """One span. ``set_attribute``/``add_event`` return the span so calls can be chained."""

    __slots__ = ("_span",)

    def __init__(self, span: otel_trace.Span) -> None:
        self._span = span

    def set_attribute(self, key: str, value: AttributeValue) -> Span:
        """Set one attribute (string, bool, int, float or a list of one of those)."""
        self._span.set_attribute(key, value)
        return self

    def set_attributes(self, attributes: Attributes) -> Span:
        """Set several attributes."""
        self._span.set_attributes(attributes)
        return self

    def add_event(self, name: str, attributes: Attributes | None = None) -> Span:
        """Record a timestamped event (``preparation_started``...)."""
        self._span.add_event(name, attributes)
        return self

    def record_exception(self, exc: BaseException) -> Span:
        """Record ``exc`` as an ``exception`` event and mark the span as an error."""
        _record_error(self._span, exc)
        return self

    def set_error(self, description: str) -> Span:
        """Mark the span as failed without an exception (the design document's ``error``
        attribute)."""
        self._span.set_status(Status(StatusCode.ERROR, description))
        return self

    def end(self) -> None:
        """Finish the span (a second call is ignored by the SDK with a warning)."""
        self._span.end()

    @property
    def is_recording(self) -> bool:
        """False for spans dropped by sampling or already ended."""
        return self._span.is_recording()

    @property
    def trace_id(self) -> str:
        """The trace id as 32 hex digits."""
        return f"{self._span.get_span_context().trace_id:032x}"

    @property
    def span_id(self) -> str:
        """The span id as 16 hex digits."""
        return f"{self._span.get_span_context().span_id:016x}"

    @property
    def otel_span(self) -> otel_trace.Span:
        """The underlying OpenTelemetry span (for propagation to other libraries)."""
        return self._span

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            _record_error(self._span, exc)
        self._span.end()


class TraceScope:
    """What :meth:`Tracer.trace` returns: a context manager (one ``with`` block per call of
    ``trace``) and a decorator (a new span on every call of the decorated function)."""

    __slots__ = ("_attributes", "_name", "_span", "_token", "_tracer")

    def __init__(
        self, tracer: otel_trace.Tracer, name: str, attributes: Attributes | None
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes = attributes
        self._span: otel_trace.Span | None = None
        self._token: object = None

    def __enter__(self) -> Span:
        span = self._tracer.start_span(self._name, attributes=self._attributes)
        self._span = span
        self._token = otel_context.attach(otel_trace.set_span_in_context(span))
        return Span(span)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        try:
            if exc is not None:
                _record_error(span, exc)
            span.end()
        finally:
            otel_context.detach(self._token)  # type: ignore[arg-type]

    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]:
        tracer, name, attributes = self._tracer, self._name, self._attributes
        if inspect.iscoroutinefunction(fn):
            async_fn = cast(Callable[..., Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with TraceScope(tracer, name, attributes):
                    return await async_fn(*args, **kwargs)

            return cast(Callable[P, T], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            with TraceScope(tracer, name, attributes):
                return fn(*args, **kwargs)

        return wrapper


class SpanBuilder:
    """``tracer.span_builder(name).with_attribute(k, v).with_parent(span).start()``.

    Without ``with_parent`` the span's parent is the current span (if any);
    ``with_parent(None)`` starts a new trace. The started span is not made current.
    """

    __slots__ = ("_attributes", "_kind", "_name", "_parent", "_parent_set", "_tracer")

    def __init__(self, tracer: otel_trace.Tracer, name: str) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes: dict[str, AttributeValue] = {}
        self._parent: Span | None = None
        self._parent_set = False
        self._kind = SpanKind.INTERNAL

    def with_attribute(self, key: str, value: AttributeValue) -> SpanBuilder:
        """Add one attribute to the span to be started."""
        self._attributes[key] = value
        return self

    def with_attributes(self, attributes: Attributes) -> SpanBuilder:
        """Add several attributes."""
        self._attributes.update(attributes)
        return self

    def with_parent(self, parent: Span | None) -> SpanBuilder:
        """Make ``parent`` the parent (``None``: a root span)."""
        self._parent = parent
        self._parent_set = True
        return self

    def with_kind(self, kind: SpanKind) -> SpanBuilder:
        """SERVER, CLIENT, PRODUCER, CONSUMER or INTERNAL (the default)."""
        self._kind = kind
        return self

    def start(self) -> Span:
        """Start the span; the caller ends it (``span.end()`` or ``with span:``)."""
        ctx: otel_context.Context | None = None
        if self._parent_set:
            ctx = (otel_trace.set_span_in_context(self._parent._span)
                   if self._parent is not None else otel_context.Context())
        return Span(self._tracer.start_span(
            self._name, context=ctx, kind=self._kind, attributes=self._attributes or None
        ))


class Tracer:
    """The agent's tracer: spans go through sampling and span limits from the config, then
    to the trace exporters (see ``build_tracer``). Thread-safe.

    ``shutdown`` (idempotent) flushes the SDK's batch and then stops the exporters, which
    the OTLP receiver may also be feeding: stop the receiver first.
    """

    def __init__(
        self,
        otel_tracer: otel_trace.Tracer,
        *,
        exporters: TraceExporters,
        flush: Callable[[float], bool] | None = None,
        stop: Callable[[float], None] | None = None,
    ) -> None:
        self._tracer = otel_tracer
        self.exporters = exporters
        self._flush = flush
        self._stop = stop
        self._stopped = False

    # -- the design document's API --------------------------------------------------------
    def trace(self, name: str, attributes: Attributes | None = None) -> TraceScope:
        """A span around a ``with`` block or each call of a decorated function."""
        return TraceScope(self._tracer, name, attributes)

    async def trace_async(
        self,
        name: str,
        fn: Callable[[Span], Awaitable[T]],
        attributes: Attributes | None = None,
    ) -> T:
        """Run ``await fn(span)`` inside a new current span and return its result."""
        with TraceScope(self._tracer, name, attributes) as span:
            return await fn(span)

    def span_builder(self, name: str) -> SpanBuilder:
        """A builder for a span started and ended by hand."""
        return SpanBuilder(self._tracer, name)

    def current_span(self) -> Span | None:
        """The span of the innermost ``trace`` block on this thread/task, if any."""
        span = otel_trace.get_current_span()
        return Span(span) if span.get_span_context().is_valid else None

    # -- lifecycle ------------------------------------------------------------------------
    def get_export_status(self) -> dict[str, ExportStatus]:
        """Each trace exporter's status (merged into the manager's ``get_export_status``)."""
        return self.exporters.statuses()

    def force_flush(self, *, timeout_s: float = 5.0) -> bool:
        """Export every finished span now and wait for the exporters' queues."""
        ok = self._flush(timeout_s) if self._flush is not None else True
        return self.exporters.force_flush(timeout_s=timeout_s) and ok

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Flush the SDK, then flush and stop the exporters."""
        if self._stopped:
            return
        self._stopped = True
        if self._stop is not None:
            self._stop(timeout_s)
        self.exporters.shutdown(timeout_s=timeout_s)


def _record_error(span: otel_trace.Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))

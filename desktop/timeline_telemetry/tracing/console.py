"""The Console trace exporter's sender: one short line per span.

``12:03:05.120 span video_render 1.25s trace=4bf92f35.. id=00f067aa ok service=timeline-studio
frames_count=3600`` (the trace id shortened to 8 hex digits; events counted, not listed).

What the editor sent goes through :mod:`timeline_telemetry.redact` first, as in a diagnostics
bundle: an attribute under a secret-looking key (``authorization``, ``api_key``,
``db.password``) shows as ``***``, and tokens, URL passwords and ``?token=`` values in any
other attribute, the span name or the status message are masked.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from timeline_telemetry.delivery import DeliveryError
from timeline_telemetry.otlp.values import any_value_text
from timeline_telemetry.redact import redact_attribute, redact_text

from .batch import OtlpBatch

__all__ = ["ConsoleSender", "format_span"]

_MAX_ATTRS_SHOWN = 8
_NUMBERS = frozenset({"int_value", "double_value", "bool_value"})


class ConsoleSender:
    """:class:`~timeline_telemetry.delivery.Sender` writing :func:`format_span` lines."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        localtime: Callable[[float], time.struct_time] = time.localtime,
        name: str = "traces:console",
    ) -> None:
        self.name = name
        self._stream = stream if stream is not None else sys.stdout
        self._localtime = localtime

    def open(self) -> None:
        """Nothing to open."""

    def deliver(self, batch: OtlpBatch, *, timeout_s: float) -> int:
        """Print every span of the request."""
        msg = batch.message
        if not isinstance(msg, ExportTraceServiceRequest):
            raise DeliveryError("the console exporter prints traces only", retryable=False)
        lines: list[str] = []
        for rs in msg.resource_spans:
            service = _service(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    lines.append(format_span(span, service=service, localtime=self._localtime))
        try:
            self._stream.write("".join(line + "\n" for line in lines))
            self._stream.flush()
        except (OSError, ValueError, UnicodeError) as exc:  # closed pipe, unencodable console
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False) from None
        return 0

    def close(self) -> None:
        """The stream belongs to the caller."""

    def describe(self) -> str:
        """One log line for the CLI."""
        return "printing one line per finished span to the console"


def format_span(
    span: Span,
    *,
    service: str = "",
    localtime: Callable[[float], time.struct_time] = time.localtime,
) -> str:
    """The console line of one span."""
    start_s = span.start_time_unix_nano / 1e9
    clock = time.strftime("%H:%M:%S", localtime(start_s)) + f".{int(start_s * 1000) % 1000:03d}"
    duration = max(0, span.end_time_unix_nano - span.start_time_unix_nano) / 1e9
    parts = [clock, "span", redact_text(span.name) or "(unnamed)", _human_seconds(duration),
             f"trace={span.trace_id.hex()[:8]}", f"id={span.span_id.hex()[:8]}"]
    if span.status.code == Status.STATUS_CODE_ERROR:
        message = redact_text(span.status.message)
        parts.append(f"ERROR({message})" if message else "ERROR")
    else:
        parts.append("ok")
    if service:
        parts.append(f"service={service}")
    for kv in span.attributes[:_MAX_ATTRS_SHOWN]:
        text = any_value_text(kv.value)
        if kv.value.WhichOneof("value") not in _NUMBERS:  # input_tokens=1200 is a count
            text = redact_attribute(kv.key, text)
        parts.append(f"{kv.key}={text}")
    if len(span.attributes) > _MAX_ATTRS_SHOWN:
        parts.append(f"(+{len(span.attributes) - _MAX_ATTRS_SHOWN} attributes)")
    if span.events:
        parts.append(f"events={len(span.events)}")
    return " ".join(parts)


def _service(attributes: Iterable[KeyValue]) -> str:
    for kv in attributes:
        if kv.key == "service.name":
            return any_value_text(kv.value)
    return ""


def _human_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds:.2f}s"

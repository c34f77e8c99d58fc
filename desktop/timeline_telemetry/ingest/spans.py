"""Checks and limits for a received ``ExportTraceServiceRequest``, before it is stored.

* Ids (OTLP's trace.proto: "a valid trace identifier is a 16-byte array with at least one
  non-zero byte", span ids 8 bytes; the parent empty or 8 bytes): one bad id makes the whole
  request a 400, as the OTLP spec asks for permanently invalid data (:func:`invalid_ids`).
* A span ending before it starts is removed and counted (``partial_success``).
* Attribute limits (:mod:`.attributes`) on every span, event, link and resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from timeline_telemetry.config.schema import IngestLimitsConfig

from .attributes import cap_attributes
from .limits import IngestRejections, clip, cut_warnings

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

__all__ = ["SpanOutcome", "apply_span_limits", "invalid_ids"]

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_MAX_ERRORS_KEPT = 5


@dataclass
class SpanOutcome:
    """What :func:`apply_span_limits` refused (``rejected`` spans, with reasons) and cut
    (``warnings``: spans kept with attributes dropped or truncated)."""

    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def invalid_ids(request: ExportTraceServiceRequest) -> tuple[int, str]:
    """How many spans have a bad trace, span or parent id, and a message about the first
    (``(0, "")`` when every id is fine)."""
    bad = 0
    first = ""
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                problem = _id_problem(span.trace_id, span.span_id, span.parent_span_id)
                if problem:
                    bad += 1
                    first = first or f"span {clip(span.name)!r}: {problem}"
    return bad, first


def _id_problem(trace_id: bytes, span_id: bytes, parent: bytes) -> str:
    if len(trace_id) != 16:
        return f"trace id of {len(trace_id)} bytes (must be 16)"
    if trace_id == _ZERO_TRACE:
        return "trace id all zero (invalid)"
    if len(span_id) != 8:
        return f"span id of {len(span_id)} bytes (must be 8)"
    if span_id == _ZERO_SPAN:
        return "span id all zero (invalid)"
    if parent and len(parent) != 8:
        return f"parent span id of {len(parent)} bytes (must be empty or 8)"
    return ""


def apply_span_limits(
    request: ExportTraceServiceRequest,
    limits: IngestLimitsConfig,
    rejections: IngestRejections | None,
) -> SpanOutcome:
    """Remove spans ending before they start and cap every attribute list, in place."""
    out = SpanOutcome()
    count, length = limits.max_attributes, limits.max_attribute_value_length
    cut_items = 0
    cut_example = ""
    trunc_items = 0
    trunc_example = ""
    backwards = 0
    backwards_example = ""
    for rs in request.resource_spans:
        res = rs.resource
        cut = cap_attributes(res.attributes, max_count=count, max_length=length)
        if cut:
            res.dropped_attributes_count += cut.dropped
            if cut.dropped:
                cut_items += 1
                cut_example = cut_example or f"attribute {cut.key!r} of a resource"
            if cut.truncated:
                trunc_items += 1
                trunc_example = trunc_example or f"attribute {cut.key!r} of a resource"
        for ss in rs.scope_spans:
            spans = ss.spans
            bad = [i for i, s in enumerate(spans) if s.end_time_unix_nano < s.start_time_unix_nano]
            if bad:
                backwards += len(bad)
                first = spans[bad[0]]
                early = first.start_time_unix_nano - first.end_time_unix_nano
                backwards_example = backwards_example or (
                    f"span {clip(first.name)!r} ends {early} ns before it starts")
                for i in reversed(bad):
                    del spans[i]
            for span in spans:
                owners: list[Any] = [span, *span.events, *span.links]
                if span.ByteSize() <= length and all(len(o.attributes) <= count
                                                     for o in owners):
                    continue  # nothing in it can be over a limit
                dropped = truncated = False
                where = f"span {clip(span.name)!r}"
                for owner in owners:
                    c = cap_attributes(owner.attributes, max_count=count, max_length=length)
                    if c:
                        owner.dropped_attributes_count += c.dropped
                        if c.dropped and not dropped:
                            dropped = True
                            cut_example = cut_example or f"attribute {c.key!r} of {where}"
                        if c.truncated and not truncated:
                            truncated = True
                            trunc_example = trunc_example or f"attribute {c.key!r} of {where}"
                cut_items += dropped
                trunc_items += truncated
    if backwards:
        out.rejected += backwards
        out.errors.append(f"{backwards} span(s) end before they start, e.g. {backwards_example}")
    if rejections is not None:
        rejections.record("traces", "end_before_start", backwards, backwards_example)
        rejections.record("traces", "attribute_count", cut_items, cut_example)
        rejections.record("traces", "attribute_value_length", trunc_items, trunc_example)
    out.warnings = cut_warnings(
        {"attribute_count": cut_items, "attribute_value_length": trunc_items},
        {"attribute_count": cut_example, "attribute_value_length": trunc_example})
    return out

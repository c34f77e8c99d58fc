"""The unit every exporter handles: one OTLP export request and how many items it holds.

Spans the agent records itself (encoded from the SDK) and spans the receiver got from the
editor travel the same way, as an ``ExportTraceServiceRequest``; received logs travel as an
``ExportLogsServiceRequest``. ``items`` (spans or log records) is what drop counters count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # protobuf is imported by whoever builds a batch, not by this module
    from google.protobuf.message import Message
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

__all__ = ["OtlpBatch", "count_spans", "trace_batch"]


@dataclass(frozen=True, slots=True)
class OtlpBatch:
    """An OTLP request on its way to exporters. Treat ``message`` as read-only: the same
    object goes to every exporter and may sit in several retry queues at once."""

    message: Message
    items: int


def count_spans(request: ExportTraceServiceRequest) -> int:
    """Spans in a trace request."""
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def trace_batch(request: ExportTraceServiceRequest) -> OtlpBatch:
    """``request`` with its span count."""
    return OtlpBatch(request, count_spans(request))

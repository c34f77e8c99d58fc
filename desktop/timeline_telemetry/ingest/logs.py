"""Attribute limits for a received ``ExportLogsServiceRequest``, applied before it is stored.

Every log record's and resource's attributes are capped (:mod:`.attributes`); the record is
kept (``dropped_attributes_count`` grows), and the cut is counted. Log record ids are not
checked: OTLP makes them optional, and a record is useful without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry.config.schema import IngestLimitsConfig

from .attributes import cap_attributes
from .limits import IngestRejections, cut_warnings

if TYPE_CHECKING:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

__all__ = ["apply_log_limits"]


def apply_log_limits(
    request: ExportLogsServiceRequest,
    limits: IngestLimitsConfig,
    rejections: IngestRejections | None,
) -> list[str]:
    """Cap the attributes of every resource and log record of ``request``, in place; returns
    the reply's warnings (what was cut, see :func:`.limits.cut_warnings`)."""
    count, length = limits.max_attributes, limits.max_attribute_value_length
    counts = {"attribute_count": 0, "attribute_value_length": 0}
    examples = {"attribute_count": "", "attribute_value_length": ""}

    def note(dropped: int, truncated: int, example: str) -> None:
        for reason, hit in (("attribute_count", dropped), ("attribute_value_length", truncated)):
            if hit:
                counts[reason] += 1
                examples[reason] = examples[reason] or example

    for rl in request.resource_logs:
        res = rl.resource
        cut = cap_attributes(res.attributes, max_count=count, max_length=length)
        if cut:
            res.dropped_attributes_count += cut.dropped
            note(cut.dropped, cut.truncated, f"attribute {cut.key!r} of a resource")
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                if len(rec.attributes) <= count and rec.ByteSize() <= length:
                    continue
                cut = cap_attributes(rec.attributes, max_count=count, max_length=length)
                if cut:
                    rec.dropped_attributes_count += cut.dropped
                    note(cut.dropped, cut.truncated, f"attribute {cut.key!r} of a log record")
    if rejections is not None:
        for reason, n in counts.items():
            rejections.record("logs", reason, n, examples[reason])
    return cut_warnings(counts, examples)

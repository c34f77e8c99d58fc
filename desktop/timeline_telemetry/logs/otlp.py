"""The OTLP log records the editor pushes, as ECS lines (severity, body, trace and span ids,
resource ``service.name``; attributes under ``timeline.attributes``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from timeline_telemetry.otlp.values import any_value_text

from .ecs import EDITOR_OTLP_DATASET, EcsLogFile

if TYPE_CHECKING:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

__all__ = ["write_otlp_logs"]

#: OTLP severity number ranges (the log data model) -> the logging level and ECS name.
_SEVERITY = ((21, logging.CRITICAL, "fatal"), (17, logging.ERROR, "error"),
             (13, logging.WARNING, "warn"), (9, logging.INFO, "info"),
             (5, logging.DEBUG, "debug"), (1, logging.DEBUG, "trace"))
_MAX_ATTRIBUTES = 32


def _level(number: int, text: str) -> tuple[int, str]:
    for floor, level, name in _SEVERITY:
        if number >= floor:
            return level, (text or name)
    return logging.INFO, (text or "info")


def write_otlp_logs(ecs: EcsLogFile, request: ExportLogsServiceRequest) -> int:
    """Write every record of ``request`` (already attribute-capped and masked by the
    receiver) to ``ecs``; returns how many."""
    n = 0
    for rl in request.resource_logs:
        service = next((kv.value.string_value for kv in rl.resource.attributes
                        if kv.key == "service.name"), "") or None
        for sl in rl.scope_logs:
            logger = sl.scope.name or "otlp"
            for rec in sl.log_records:
                level, name = _level(rec.severity_number, rec.severity_text)
                stamp = rec.time_unix_nano or rec.observed_time_unix_nano
                attrs = {kv.key: any_value_text(kv.value)
                         for kv in list(rec.attributes)[:_MAX_ATTRIBUTES]}
                ecs.write(
                    any_value_text(rec.body), level=level, level_name=name, logger=logger,
                    dataset=EDITOR_OTLP_DATASET, created=stamp / 1e9 if stamp else None,
                    service_name=service,
                    trace_id=rec.trace_id.hex() if any(rec.trace_id) else None,
                    span_id=rec.span_id.hex() if any(rec.span_id) else None,
                    attributes=attrs,
                )
                n += 1
    return n

"""ECS JSON lines for an ELK stack: the agent's own log, the editor's log files and the log
records the editor pushes over OTLP, in one rotating file that Filebeat or Logstash reads.

Elastic's ``ecs-logging`` formatter writes each line (``@timestamp``, ``log.level``,
``message``, ``ecs.version``, ``log.logger``, ``process.*``, ``error.*``); this module adds
``service.name``, ``event.dataset`` (which of the three sources), ``trace.id`` / ``span.id``
when a record has them, and masks secrets as the diagnostics bundle does
(:func:`timeline_telemetry.redact.redact_text`). Fields that are not ECS fields (a record's
``extra=`` attributes, OTLP attributes) go under the custom namespace ``timeline.*``, so
every line maps onto the ECS field definitions without clashing with a future ECS field.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ecs_logging

from timeline_telemetry.logsetup import QuietRotatingFileHandler
from timeline_telemetry.redact import redact_text

__all__ = [
    "AGENT_DATASET",
    "CUSTOM_NAMESPACE",
    "ECS_FILE_NAME",
    "EDITOR_FILE_DATASET",
    "EDITOR_OTLP_DATASET",
    "EcsFormatter",
    "EcsLogFile",
]

#: The file name in the log dir; the Logstash pipeline and Filebeat read ``*.ecs.json``.
ECS_FILE_NAME = "timeline-telemetry.ecs.json"
#: Where fields that ECS does not define go (Elastic's advice for custom fields).
CUSTOM_NAMESPACE = "timeline"
AGENT_DATASET = "timeline_telemetry.agent"
EDITOR_FILE_DATASET = "timeline_studio.log"
EDITOR_OTLP_DATASET = "timeline_studio.otlp"

#: Top-level keys that are ECS field sets the formatter or this module fill in.
_ECS_ROOTS = frozenset({"@timestamp", "ecs", "log", "message", "process", "error", "service",
                        "trace", "span", "transaction", "event", "labels", CUSTOM_NAMESPACE})
#: The attribute this module puts on the records it makes (taken out of the document).
_OVERRIDES = "_timeline_ecs"
_MAX_MESSAGE = 32 * 1024
_MAX_CUSTOM_FIELDS = 64


class EcsFormatter(ecs_logging.StdlibFormatter):
    """``ecs_logging.StdlibFormatter`` with secrets masked, ``service.name`` and
    ``event.dataset`` filled in, the current span's ids on the agent's records, and
    non-ECS extras moved under ``timeline.*``. ``log.original`` is left out: it repeats the
    message unmasked."""

    def __init__(self, *, service_name: str, dataset: str = AGENT_DATASET) -> None:
        super().__init__(exclude_fields=["log.original"])
        self._service = service_name
        self._dataset = dataset

    def format_to_ecs(self, record: logging.LogRecord) -> dict[str, Any]:
        """The ECS document for ``record`` (see the class docstring)."""
        # Read, not popped: a rotating handler formats each record twice (size check, write).
        overrides: Mapping[str, Any] = getattr(record, _OVERRIDES, None) or {}
        result: dict[str, Any] = super().format_to_ecs(record)
        result.pop(_OVERRIDES, None)
        if overrides:  # a record from the editor: the agent's process and code are not its
            result.pop("process", None)
            if isinstance(result.get("log"), dict):
                result["log"].pop("origin", None)
        custom: dict[str, Any] = dict(result.pop(CUSTOM_NAMESPACE, None) or {})
        for key in [k for k in result if k.split(".", 1)[0] not in _ECS_ROOTS]:
            if len(custom) < _MAX_CUSTOM_FIELDS:
                custom[key] = result[key]
            del result[key]
        result["message"] = _mask(str(result.get("message", "")))
        error = result.get("error")
        if isinstance(error, dict):
            for key in ("message", "stack_trace"):
                if isinstance(error.get(key), str):
                    error[key] = redact_text(error[key])
        service = result.setdefault("service", {})
        service.setdefault("name", overrides.get("service.name") or self._service)
        result.setdefault("event", {}).setdefault(
            "dataset", overrides.get("event.dataset") or self._dataset)
        trace_id, span_id = overrides.get("trace.id"), overrides.get("span.id")
        if trace_id is None:
            trace_id, span_id = _current_span_ids()
        if trace_id:
            result["trace"] = {"id": trace_id}
        if span_id:
            result["span"] = {"id": span_id}
        if path := overrides.get("log.file.path"):
            result.setdefault("log", {})["file"] = {"path": str(path)}
        attrs = overrides.get("attributes")
        if isinstance(attrs, Mapping):
            for key, value in list(attrs.items())[:_MAX_CUSTOM_FIELDS]:
                custom.setdefault("attributes", {})[str(key)] = redact_text(str(value))
        if custom:
            result[CUSTOM_NAMESPACE] = _mask_values(custom, depth=4)
        return result


def _mask(text: str) -> str:
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + " [cut]"
    return redact_text(text)


def _mask_values(value: Any, *, depth: int) -> Any:
    """Strings masked in a record's extra fields (nested a few levels; deeper is shown as
    masked text), so an ``extra=`` never carries a secret the message would not."""
    if isinstance(value, str):
        return redact_text(value[:_MAX_MESSAGE])
    if depth <= 0:
        return redact_text(repr(value)[:_MAX_MESSAGE])
    if isinstance(value, dict):
        return {str(k): _mask_values(v, depth=depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_values(v, depth=depth - 1) for v in value[:_MAX_CUSTOM_FIELDS]]
    return value


def _current_span_ids() -> tuple[str | None, str | None]:
    """The ids of the span current in this thread, if the agent records spans (the OTel API is
    only asked when something already imported it: no import cost for a plain log line)."""
    trace_mod = sys.modules.get("opentelemetry.trace")
    if trace_mod is None:
        return None, None
    ctx = trace_mod.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


class EcsLogFile:
    """The rotating ECS file and the ways records reach it. Thread-safe (the handler's lock).

    ``handler`` goes on the agent's logger; :meth:`write` takes records from elsewhere (the
    editor's log lines, its OTLP log records). Size-bounded: ``max_bytes`` per file and
    ``backups`` old files; a full disk loses records (counted in ``handler.lost``) and never
    stops the agent.
    """

    def __init__(self, path: Path, *, service_name: str, editor_service: str,
                 max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.editor_service = editor_service
        self.handler = QuietRotatingFileHandler(path, max_bytes=max_bytes, backups=backups)
        self.handler.setFormatter(EcsFormatter(service_name=service_name))
        self._lock = threading.Lock()
        self.written = 0

    def write(
        self,
        message: str,
        *,
        level: int,
        level_name: str = "",
        logger: str,
        dataset: str,
        created: float | None = None,
        service_name: str | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
        file_path: str | None = None,
        attributes: Mapping[str, object] | None = None,
    ) -> None:
        """One record from outside the agent's own logging (``message`` is masked here)."""
        record = logging.LogRecord(logger, level, "", 0, message, None, None)
        if level_name:
            record.levelname = level_name
        if created is not None:
            record.created = created
            record.msecs = (created - int(created)) * 1000
        overrides: dict[str, Any] = {"event.dataset": dataset,
                                     "service.name": service_name or self.editor_service,
                                     "trace.id": trace_id or "", "span.id": span_id}
        if file_path:
            overrides["log.file.path"] = file_path
        if attributes:
            overrides["attributes"] = attributes
        setattr(record, _OVERRIDES, overrides)
        self.handler.handle(record)
        with self._lock:
            self.written += 1

    def close(self) -> None:
        """Flush and close the file."""
        self.handler.close()

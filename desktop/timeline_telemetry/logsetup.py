"""Logging for the agent: short lines on stderr, and a rotating file of JSON lines in the
user log dir (one object per record: ``ts``, ``level``, ``logger``, ``thread``, ``msg``,
``exc`` when there is a traceback) that the diagnostics bundle picks up later.

``logging.level`` from the config sets the level; ``detail`` (the design document's
``tracing.debug_mode`` / ``tracing.log_spans``) lowers the file to DEBUG while stderr keeps
the configured level.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import sys

from .paths import AppPaths

__all__ = ["LOG_FILE_NAME", "JsonLineFormatter", "configure_logging"]

LOG_FILE_NAME = "agent.log"
_CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: machine-readable, and a message with newlines stays one
    line. Extra attributes given with ``extra={"fields": {...}}`` are added as they are."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line (no trailing newline)."""
        stamp = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        out: dict[str, object] = {
            "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({str(k): v for k, v in fields.items() if str(k) not in out})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(paths: AppPaths, level: str = "INFO", *, detail: bool = False) -> None:
    """Install the stderr and rotating-file handlers on the package logger (idempotent).

    ``detail`` writes DEBUG records to the file whatever ``level`` says.
    """
    logger = logging.getLogger("timeline_telemetry")
    file_level = logging.DEBUG if detail else logging.getLevelName(level)
    console_level = logging.getLevelName(level)
    logger.setLevel(min(file_level, console_level))
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter(_CONSOLE_FORMAT, "%H:%M:%S"))
    logger.addHandler(console)
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            paths.log_dir / LOG_FILE_NAME, maxBytes=5 * 1024 * 1024, backupCount=3,
            encoding="utf-8",
        )
    except OSError as exc:
        logger.warning("cannot write the log file in %s: %s", paths.log_dir, exc)
        return
    file_handler.setLevel(file_level)
    file_handler.setFormatter(JsonLineFormatter())
    logger.addHandler(file_handler)

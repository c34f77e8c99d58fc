"""Logging for the agent: short lines on stderr, and a rotating file of JSON lines in the
user log dir (one object per record: ``ts``, ``level``, ``logger``, ``thread``, ``msg``,
``exc`` when there is a traceback) that the diagnostics bundle picks up later.

``logging.level`` from the config sets the level; ``detail`` (the design document's
``tracing.debug_mode`` / ``tracing.log_spans``) lowers the file to DEBUG while stderr keeps
the configured level.

Both outputs go through :func:`timeline_telemetry.redact.redact_text` (a URL with a password
or a token in an exporter's error stays masked, as in a diagnostics bundle). When the log file
cannot be written (a full disk), one line says so on stderr at most once a minute, with how
many records were lost, instead of logging's traceback for every record.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .paths import AppPaths
from .redact import redact_text

__all__ = ["LOG_FILE_NAME", "JsonLineFormatter", "QuietRotatingFileHandler", "configure_logging"]

LOG_FILE_NAME = "agent.log"
_CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(message)s"
#: Short, but with the UTC offset (``17:07:19-0500``): unambiguous after a time-zone change.
_CONSOLE_DATEFMT = "%H:%M:%S%z"
_ERROR_REPORT_INTERVAL_S = 60.0


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
            "msg": redact_text(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({str(k): v for k, v in fields.items() if str(k) not in out})
        if record.exc_info:
            out["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class _RedactingFormatter(logging.Formatter):
    """The console format, with secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler for which a failed write (``OSError``: full disk, I/O error)
    is an expected condition: reported on stderr without a traceback, at most once every
    ``report_interval_s`` (with how many records were lost), and retried with the next
    record. Other errors go to logging's usual ``handleError``.

    After a failed write the file is closed (what was buffered is lost, and counted) and
    opened again for the next record, which starts on a new line if the failed one left a
    partial line behind."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        backups: int,
        clock: Callable[[], float] = time.monotonic,
        report_interval_s: float = _ERROR_REPORT_INTERVAL_S,
    ) -> None:
        # set before the base class opens the file (through _open)
        self._clock = clock
        self._report_interval_s = report_interval_s
        self._reported_at: float | None = None
        self.lost = 0  # records not written since creation
        self._unreported = 0
        self._maybe_torn = False
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")

    def _open(self) -> io.TextIOWrapper:
        stream = super()._open()
        if self._maybe_torn:
            self._maybe_torn = False
            try:
                with open(self.baseFilename, "rb") as f:
                    size = f.seek(0, 2)
                    torn = size > 0 and f.seek(size - 1) >= 0 and f.read(1) != b"\n"
                if torn:
                    stream.write("\n")
            except OSError:
                pass  # written with the next record, or reported by its failure
        return stream

    def close(self) -> None:
        """Close the file; buffered records that cannot be written (full disk) are lost."""
        try:
            super().close()
        except OSError:
            self.lost += 1

    def _drop_stream(self) -> None:
        stream, self.stream = self.stream, None
        self._maybe_torn = True
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        """Rate-limited, traceback-free report of an ``OSError``."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self.lost += 1
        self._unreported += 1
        self._drop_stream()
        now = self._clock()
        if self._reported_at is not None and now - self._reported_at < self._report_interval_s:
            return
        try:
            sys.stderr.write(
                f"timeline-telemetry: cannot write the log file {self.baseFilename}: "
                f"{type(exc).__name__}: {exc} ({self._unreported} record(s) lost; "
                f"{self.lost} in all; the next message in {self._report_interval_s:.0f} s "
                "at the earliest)\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr gone too: nothing left to tell
        self._reported_at = now
        self._unreported = 0


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
    console.setFormatter(_RedactingFormatter(_CONSOLE_FORMAT, _CONSOLE_DATEFMT))
    logger.addHandler(console)
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = QuietRotatingFileHandler(
            paths.log_dir / LOG_FILE_NAME, max_bytes=5 * 1024 * 1024, backups=3
        )
    except OSError as exc:
        logger.warning("cannot write the log file in %s: %s", paths.log_dir, exc)
        return
    file_handler.setLevel(file_level)
    file_handler.setFormatter(JsonLineFormatter())
    logger.addHandler(file_handler)

"""Logging for the agent: short lines on stderr, and a rotating file in the user log dir
that the diagnostics bundle picks up later."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from .paths import AppPaths

__all__ = ["LOG_FILE_NAME", "configure_logging"]

LOG_FILE_NAME = "agent.log"
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def configure_logging(paths: AppPaths, level: str = "INFO") -> None:
    """Install the stderr and rotating-file handlers on the package logger (idempotent)."""
    logger = logging.getLogger("timeline_telemetry")
    logger.setLevel(level)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
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
    file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    logger.addHandler(file_handler)

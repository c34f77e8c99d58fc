"""An in-process agent for the attack suites, watched for tracebacks and dead threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from timeline_telemetry.config import parse_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime


class Tracebacks(logging.Handler):
    """Remembers every log record carrying an exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@contextmanager
def watched_runtime(tmp: Path, telemetry: dict[str, Any]
                    ) -> Iterator[tuple[AgentRuntime, Tracebacks, list[Any]]]:
    """Start the real runtime with ``telemetry`` (ports 0 on 127.0.0.1); on the way out,
    stop it and fail if anything logged a traceback or a thread died."""
    cfg = parse_config({"telemetry": telemetry}, source=str(tmp / "c.json"), base_dir=tmp)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp / "home")})
    errors = Tracebacks()
    root = logging.getLogger("timeline_telemetry")
    root.addHandler(errors)
    thread_errors: list[threading.ExceptHookArgs] = []
    old_hook = threading.excepthook
    threading.excepthook = thread_errors.append
    rt = AgentRuntime(cfg, paths, mode="headless")
    rt.start()
    try:
        yield rt, errors, thread_errors
    finally:
        rt.stop()
        threading.excepthook = old_hook
        root.removeHandler(errors)
    assert not [r.getMessage() for r in errors.records], "tracebacks were logged"
    assert not thread_errors, "a thread died"

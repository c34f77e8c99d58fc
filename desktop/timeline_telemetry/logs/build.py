"""``telemetry.logs`` put together: the ECS file, the editor-log follower and the OTLP logs
exporters, fed by the agent's logger, the editor's log files and the receiver."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from timeline_telemetry.config.schema import OtlpExporterConfig, TelemetryConfig
from timeline_telemetry.config.secrets import KeyringGet
from timeline_telemetry.delivery import QueuedExporter
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.tracing.batch import OtlpBatch

from .ecs import ECS_FILE_NAME, EDITOR_FILE_DATASET, EcsLogFile, _current_span_ids
from .tail import EditorLogTailer

if TYPE_CHECKING:  # the OTLP classes load only when an Otlp logs exporter is configured
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from .forward import LogForwarder

__all__ = ["AGENT_SERVICE_NAME", "AgentLogs"]

_log = logging.getLogger(__name__)

#: ``service.name`` of the agent's own records (the editor's carry the configured one).
AGENT_SERVICE_NAME = "timeline-telemetry"
_LEVEL_WORD = re.compile(r"\b(TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|FATAL|CRITICAL)\b",
                         re.IGNORECASE)
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
           "WARN": logging.WARNING, "WARNING": logging.WARNING, "ERROR": logging.ERROR,
           "FATAL": logging.CRITICAL, "CRITICAL": logging.CRITICAL}


def _line_level(line: str) -> tuple[int, str]:
    """The level a log line names near its start (``2024-.. ERROR ...``), else INFO."""
    m = _LEVEL_WORD.search(line[:80])
    if m is None:
        return logging.INFO, "info"
    word = m.group(1).upper()
    return _LEVELS[word], word.lower()


class _ForwardHandler(logging.Handler):
    """The agent's log records, on to the OTLP logs exporters."""

    def __init__(self, forwarder: LogForwarder) -> None:
        super().__init__()
        self._forwarder = forwarder

    def emit(self, record: logging.LogRecord) -> None:
        trace_id, span_id = _current_span_ids()
        self._forwarder.add(record.getMessage(), level=record.levelno,
                            level_name=record.levelname, logger=record.name,
                            service=AGENT_SERVICE_NAME, created=record.created,
                            trace_id=trace_id, span_id=span_id)


class AgentLogs:
    """What ``telemetry.logs`` asks for; :meth:`start` attaches it, :meth:`shutdown` detaches
    and flushes. ``on_otlp_logs`` is the receiver's hook for the editor's OTLP records."""

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        log_dir: Path,
        metrics: Metrics,
        environ: Mapping[str, str] = os.environ,
        keyring_get: KeyringGet | None = None,
        logger_name: str = "timeline_telemetry",
        find: Callable[[Sequence[str]], list[Path]] | None = None,
        interval_s: float = 2.0,
    ) -> None:
        lc = config.logs
        self._logger = logging.getLogger(logger_name)
        self._interval = interval_s
        self.ecs: EcsLogFile | None = None
        if lc.ecs_file:
            try:
                self.ecs = EcsLogFile(log_dir / ECS_FILE_NAME, service_name=AGENT_SERVICE_NAME,
                                      editor_service=config.service_name,
                                      max_bytes=lc.max_bytes, backups=lc.backups)
            except OSError as exc:
                _log.warning("cannot write the ECS log file in %s: %s", log_dir, exc)
        self.editor_service = config.service_name
        self.forwarder: LogForwarder | None = None
        if lc.exporters:
            from .forward import LogForwarder

            self.forwarder = LogForwarder(_build_senders(lc.exporters, metrics, environ,
                                                         keyring_get))
        globs = config.editor.log_globs
        self.tailer = (EditorLogTailer(globs, self._editor_line, find=find)
                       if lc.follow_editor_logs and globs and self.active else None)
        self._handlers: list[logging.Handler] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether any output (the file or an exporter) is configured."""
        return self.ecs is not None or self.forwarder is not None

    def describe(self) -> list[str]:
        """Startup log lines."""
        out = []
        if self.ecs is not None:
            out.append(f"ECS log lines to {self.ecs.path}")
        if self.forwarder is not None:
            out.extend(exp.describe() for exp in self.forwarder.exporters)
        if self.tailer is not None:
            out.append("following the editor's log files")
        return out

    @property
    def interval_s(self) -> float:
        """How often :meth:`tick` should run (follow the editor's logs, flush the exporters)."""
        return self._interval

    @property
    def periodic(self) -> bool:
        """Whether :meth:`tick` has anything to do (a follower or an exporter)."""
        return self.tailer is not None or self.forwarder is not None

    def start(self, *, own_thread: bool = True) -> None:
        """Attach to the agent's logger, start the senders and, with ``own_thread``, a
        thread that runs :meth:`tick` every :attr:`interval_s`. The agent passes False: its
        runtime runs the tick as its ``logs`` job, with the other periodic work."""
        if self.ecs is not None:
            self._handlers.append(self.ecs.handler)
        if self.forwarder is not None:
            self.forwarder.start()
            self._handlers.append(_ForwardHandler(self.forwarder))
        for h in self._handlers:
            self._logger.addHandler(h)
        if self.tailer is not None:
            self.tailer.poll()  # the files' current ends: only what is written from now on
        if own_thread and self.periodic:
            self._thread = threading.Thread(target=self._run, name="agent-logs", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()

    def tick(self) -> None:
        """One round: new editor log lines, then a flush to the exporters."""
        try:
            if self.tailer is not None:
                self.tailer.poll()
            if self.forwarder is not None:
                self.forwarder.flush()
        except Exception:  # the logs must not stop the agent
            _log.exception("writing the logs failed")

    def on_otlp_logs(self, request: ExportLogsServiceRequest, items: int) -> None:
        """The receiver's hook: the editor's records to the ECS file and the exporters."""
        if self.ecs is not None:
            from .otlp import write_otlp_logs

            write_otlp_logs(self.ecs, request)
        if self.forwarder is not None:
            self.forwarder.forward_request(request, items)

    def _editor_line(self, path: Path, line: str) -> None:
        level, name = _line_level(line)
        if self.ecs is not None:
            self.ecs.write(line, level=level, level_name=name, logger="timeline_studio",
                           dataset=EDITOR_FILE_DATASET, file_path=str(path))
        if self.forwarder is not None:
            self.forwarder.add(line, level=level, level_name=name, logger="timeline_studio",
                               service=self.editor_service,
                               attributes={"log.file.path": str(path)})

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop following, detach from the logger, flush and close. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
        self.tick()
        for h in self._handlers:
            self._logger.removeHandler(h)
        self._handlers = []
        if self.forwarder is not None:
            self.forwarder.shutdown(timeout_s)
            self.forwarder = None
        if self.ecs is not None:
            self.ecs.close()


def _build_senders(configs: Sequence[OtlpExporterConfig], metrics: Metrics,
                   environ: Mapping[str, str], keyring_get: KeyringGet | None,
                   ) -> list[QueuedExporter[OtlpBatch]]:
    from timeline_telemetry.delivery import LOG_COUNTERS
    from timeline_telemetry.tracing.otel_env import otlp_sender

    out: list[QueuedExporter[OtlpBatch]] = []
    for cfg in configs:
        sender, st = otlp_sender(cfg, "logs", environ=environ, keyring_get=keyring_get,
                                 url_field="logs.exporters Otlp.endpoint")
        out.append(QueuedExporter(sender, metrics=metrics, counters=LOG_COUNTERS,
                                  timeout_s=st.timeout_s))
    return out

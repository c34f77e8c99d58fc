"""The File exporter: one OTLP/JSON ``ExportMetricsServiceRequest`` per line, rotated by size.

Crash safety: every line (newline included) goes out in one ``os.write`` on an ``O_APPEND``
descriptor, so a killed process can leave at most a torn *last* line, never a broken line in
the middle. ``start`` cuts such a torn tail off before appending (so the next line does not
glue onto it), and :func:`read_otlp_json_lines` skips a final line without its newline.

Full disk (or EIO): a write can stop part-way through a line. The partial line is truncated
away at once (the file goes back to the end of its last complete line); if even that fails,
every append first checks that the file ends with a newline and cuts a torn tail, so a
partial record is never followed by more data. Failures are logged without a traceback and
at most once a minute (with how many writes failed meanwhile), counted in ``errors`` (the
manager and the trace/log queues count them in ``telemetry_export_errors_total``), shown in
``status()``; the next export simply tries again, so writing resumes when space returns.

The file is opened per export (one open/write/close every collection interval): the exporter
holds no descriptor, so rotation by another tool, a deleted file or a fixed permission is
picked up at the next interval instead of writing into a vanished inode.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from timeline_telemetry.metrics.model import Snapshot

from .base import ExportResult, ExportStatus
from .status import StatusTracker

if TYPE_CHECKING:  # the OTLP encoding (protobuf) is imported at the first export
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

__all__ = [
    "ERROR_LOG_INTERVAL_S",
    "FileExporter",
    "WriteFn",
    "read_otlp_json_lines",
    "repair_torn_tail",
    "rotated_files",
]

_log = logging.getLogger(__name__)

#: ``os.write``'s shape: writes some bytes of ``data`` to the descriptor, returns how many.
WriteFn = Callable[[int, memoryview], int]
#: Write errors of one file are logged at most this often (seconds).
ERROR_LOG_INTERVAL_S = 60.0

_OPEN_FLAGS = (
    os.O_RDWR | os.O_APPEND | os.O_CREAT  # read: the last byte is checked before appending
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)  # Windows: no newline translation
)
_TAIL_CHUNK = 64 * 1024


class FileExporter:
    """``MetricsExporter`` appending OTLP/JSON lines to ``path``.

    When the next line would take the file past ``max_bytes``, ``path`` becomes ``path.1``
    (``.1`` -> ``.2`` ... up to ``backups``; the oldest is dropped) and a new file starts.
    Write errors (disk full, permissions) are counted in ``errors``, reported through
    ``status()``, logged at most once every ``ERROR_LOG_INTERVAL_S``, and retried at the
    next export; a line cut short is never left in front of the next one.

    ``write`` (``os.write``) and ``clock`` (monotonic seconds, for the log rate limit) are
    services: tests pass a ``write`` that fails part-way with ``ENOSPC``.
    """

    def __init__(
        self,
        *,
        path: Path,
        max_bytes: int = 50 * 1024 * 1024,
        backups: int = 3,
        resource: Mapping[str, str],
        start_time: float,
        name: str | None = None,
        write: WriteFn = os.write,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        if backups < 0:
            raise ValueError(f"backups must be >= 0, got {backups}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.name = name or f"file:{self.path.name}"
        self._resource = dict(resource)
        self._start_time = start_time
        self._tracker = StatusTracker(initial=ExportStatus.degraded("not started"))
        self._lock = threading.Lock()
        self._write = write
        self._error_log = _WriteErrorLog(self.path, clock)
        self.lines_written = 0
        self.rotations = 0
        #: Bytes of lines cut short (by a failed write) removed from the file.
        self.torn_bytes_removed = 0

    # -- MetricsExporter ------------------------------------------------------------------
    def start(self) -> None:
        """Create the folder and repair a torn last line. Never raises for file problems:
        they show in ``status()`` and are retried at every export."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            removed = repair_torn_tail(self.path)
        except OSError as exc:
            _log.warning("metrics file %s is not writable: %s", self.path, exc)
            self._tracker.failure(_describe(exc))
            return
        self._tracker.set(ExportStatus.healthy())
        if removed:
            _log.warning(
                "metrics file %s ended with a torn line (a crash mid-write?): removed its "
                "last %d bytes", self.path, removed,
            )

    def export(self, snapshot: Snapshot) -> ExportResult:
        """Append one line for ``snapshot``."""
        from .otlp_json import snapshot_to_otlp_request, to_json_line

        try:
            msg = snapshot_to_otlp_request(
                snapshot, resource=self._resource, start_time=self._start_time
            )
            data = (to_json_line(msg) + "\n").encode("utf-8")
        except Exception as exc:  # a bad value must not kill the collection loop
            _log.exception("could not encode a snapshot as OTLP/JSON")
            self._tracker.failure(f"encoding failed: {exc}")
            return ExportResult.FAILURE
        with self._lock:
            try:
                self._append(data)
            except OSError as exc:  # logged by _append, rate-limited, without a traceback
                self._tracker.failure(_describe(exc))
                return ExportResult.FAILURE
        self._tracker.success()
        return ExportResult.SUCCESS

    def status(self) -> ExportStatus:
        """From the last writes (see :class:`StatusTracker`)."""
        return self._tracker.status()

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Nothing is held open between exports; waits for an export in progress."""
        if self._lock.acquire(timeout=max(0.0, timeout_s)):
            self._lock.release()

    # -- extras ---------------------------------------------------------------------------
    @property
    def errors(self) -> int:
        """Failed exports since creation."""
        return self._tracker.errors

    def describe(self) -> str:
        """One log line for the CLI."""
        return (
            f"writing metrics to {self.path} as OTLP/JSON lines "
            f"(rotating at {self.max_bytes} bytes, keeping {self.backups} old files)"
        )

    # -- internals ------------------------------------------------------------------------
    def _open(self) -> int:
        try:
            return os.open(self.path, _OPEN_FLAGS, 0o644)
        except FileNotFoundError:  # the folder went away: recreate it once
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, _OPEN_FLAGS, 0o644)

    def append_line(self, data: bytes) -> None:
        """Append one complete line (``data`` ends with a newline), rotating first if needed;
        for other writers of OTLP-JSON lines (traces, logs). Raises ``OSError`` (already
        logged, at most once a minute); the file then still ends with a complete line, or
        the torn one is cut before the next line goes out."""
        with self._lock:
            self._append(data)

    def _append(self, data: bytes) -> None:
        try:
            self._append_unlogged(data)
        except OSError as exc:
            self._error_log.failed(exc)
            raise
        self.lines_written += 1
        self._error_log.recovered()

    def _append_unlogged(self, data: bytes) -> None:
        fd = self._open()
        try:
            size = self._cut_torn_tail(fd)
            if size > 0 and size + len(data) > self.max_bytes:
                os.close(fd)
                fd = -1
                self._rotate()
                fd = self._open()
                size = self._cut_torn_tail(fd)
            self._write_line(fd, data, start=size)
        finally:
            if fd >= 0:
                os.close(fd)

    def _cut_torn_tail(self, fd: int) -> int:
        """Truncate a last line without its newline (a write that failed part-way and could
        not be undone, or a crash); the file's size after."""
        size = os.fstat(fd).st_size
        cut = _complete_end(fd, size)
        if cut < size:
            os.ftruncate(fd, cut)
            self.torn_bytes_removed += size - cut
            _log.warning("%s ended with a torn line: removed its last %d bytes", self.path,
                         size - cut)
        return cut

    def _write_line(self, fd: int, data: bytes, *, start: int) -> None:
        """Write all of ``data`` at the end (``start``); if that fails after part of it went
        out, truncate back to ``start`` so no partial line stays in front of the next one."""
        view = memoryview(data)
        try:
            while view:  # one write in practice; a short write continues at the end
                written = self._write(fd, view)
                if written <= 0:  # would loop forever; os.write raises instead
                    raise OSError(errno.EIO, "write made no progress")
                view = view[written:]
        except OSError:
            if len(view) < len(data):
                try:
                    os.ftruncate(fd, start)
                    self.torn_bytes_removed += len(data) - len(view)
                except OSError:
                    pass  # cut at the next append (_cut_torn_tail)
            raise

    def _rotate(self) -> None:
        """Shift ``path`` -> ``.1`` -> ... -> ``.backups``. A failed rename is logged and the
        line goes to the current file anyway: rotation must never lose a line."""
        try:
            if self.backups == 0:
                os.unlink(self.path)
            else:
                for i in range(self.backups - 1, 0, -1):
                    src = _numbered(self.path, i)
                    if src.exists():
                        os.replace(src, _numbered(self.path, i + 1))
                os.replace(self.path, _numbered(self.path, 1))
            self.rotations += 1
        except OSError as exc:
            _log.warning("could not rotate %s (%s); appending past max_bytes", self.path, exc)


def rotated_files(path: Path, backups: int) -> list[Path]:
    """The files of one exporter, oldest first: ``path.N`` ... ``path.1``, ``path``."""
    return [p for p in (_numbered(path, i) for i in range(backups, 0, -1)) if p.exists()] + (
        [path] if path.exists() else []
    )


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline (a write cut short); return the bytes removed."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return 0
    try:
        size = os.fstat(fd).st_size
        cut = _complete_end(fd, size)
        if cut < size:
            os.ftruncate(fd, cut)
        return size - cut
    finally:
        os.close(fd)


def _complete_end(fd: int, size: int) -> int:
    """The offset just after the last newline of the first ``size`` bytes of ``fd`` (``size``
    itself when the file ends with one, 0 when it has none). Moves the file position, which
    an ``O_APPEND`` write ignores."""
    if size == 0 or _read_at(fd, size - 1, 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        nl = _read_at(fd, start, end - start).rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        end = start
    return 0


def _read_at(fd: int, offset: int, n: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)  # not os.pread: Windows has none
    chunks: list[bytes] = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class _WriteErrorLog:
    """At most one warning every :data:`ERROR_LOG_INTERVAL_S` about one file's failing
    writes (with how many failed since the last one; no traceback: a full disk is expected),
    and one line when writing works again. Called under the exporter's lock."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self._path = path
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0  # failures since the last warning
        self._streak = 0  # failures since the last success

    def failed(self, exc: OSError) -> None:
        self._streak += 1
        self._unlogged += 1
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < ERROR_LOG_INTERVAL_S:
            return
        if self._logged_at is None or self._unlogged == 1:
            _log.warning("cannot write to %s: %s (retrying at each write; further errors "
                         "are logged once a minute)", self._path, _describe(exc))
        else:
            _log.warning("cannot write to %s: %s (%d failed writes in the last %.0f s, %d "
                         "since the last success)", self._path, _describe(exc),
                         self._unlogged, now - self._logged_at, self._streak)
        self._logged_at = now
        self._unlogged = 0

    def recovered(self) -> None:
        if self._streak:
            _log.info("writing to %s again after %d failed writes", self._path, self._streak)
            self._streak = 0
            self._unlogged = 0
            self._logged_at = None


def read_otlp_json_lines(
    path: Path, *, skip_invalid: bool = False
) -> Iterator[ExportMetricsServiceRequest]:
    """Every request in one file, in order. A final line without its newline (torn by a
    crash, or being written right now) is skipped; any other bad line raises ``ValueError``
    naming the line, unless ``skip_invalid``."""
    from .otlp_json import from_json_line

    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                _log.debug("%s: skipping a torn last line (%d bytes)", path, len(raw))
                return
            if not raw.strip():
                continue
            try:
                yield from_json_line(raw.decode("utf-8"))
            except ValueError as exc:
                if skip_invalid:
                    _log.warning("%s:%d: skipping a line that is not OTLP/JSON", path, lineno)
                    continue
                raise ValueError(f"{path}:{lineno}: not an OTLP/JSON metrics line: {exc}") from exc


def _numbered(path: Path, i: int) -> Path:
    return path.with_name(f"{path.name}.{i}")


def _describe(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc}"

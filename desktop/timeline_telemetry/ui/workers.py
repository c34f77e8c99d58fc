"""Run blocking work on a QThreadPool and deliver results on the UI thread through a signal.

One :class:`JobRunner` (a QObject living on the UI thread) owns the callbacks; each job is a
small QRunnable that emits the runner's ``finished`` signal from the pool thread, which Qt
queues to the UI thread. No thread is created per job; the UI thread never waits.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

__all__ = ["JobRunner"]

_log = logging.getLogger(__name__)

OnResult = Callable[[Any], None]
OnError = Callable[[BaseException], None]


class _Job(QRunnable):
    def __init__(self, runner: JobRunner, job_id: int, fn: Callable[[], object]) -> None:
        super().__init__()
        self._runner = runner
        self._id = job_id
        self._fn = fn

    def run(self) -> None:
        try:
            result: object = self._fn()
        except Exception as exc:
            self._runner.finished.emit(self._id, None, exc)
            return
        self._runner.finished.emit(self._id, result, None)


class JobRunner(QObject):
    """Submits callables to ``pool``; ``on_result``/``on_error`` run later on the UI thread.

    ``tag`` makes a job exclusive: while a job with that tag runs, another submit with the
    same tag is skipped (returns False), so a slow collection never piles up.
    """

    finished = Signal(int, object, object)

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str | None, OnResult | None, OnError | None]] = {}
        self._busy: set[str] = set()
        self.finished.connect(self._deliver)

    @property
    def pool(self) -> QThreadPool:
        """The pool jobs run on."""
        return self._pool

    def busy(self, tag: str) -> bool:
        """True while a job with this tag is running."""
        return tag in self._busy

    def submit(
        self,
        fn: Callable[[], object],
        on_result: OnResult | None = None,
        on_error: OnError | None = None,
        *,
        tag: str | None = None,
    ) -> bool:
        """Queue ``fn``; False (nothing queued) if a job with ``tag`` is still running."""
        if tag is not None:
            if tag in self._busy:
                return False
            self._busy.add(tag)
        job_id = next(self._ids)
        self._pending[job_id] = (tag, on_result, on_error)
        self._pool.start(_Job(self, job_id, fn))
        return True

    def wait(self, timeout_ms: int) -> bool:
        """Block until every job finished (shutdown only); False on timeout."""
        return self._pool.waitForDone(timeout_ms)

    def _deliver(self, job_id: int, result: object, error: object) -> None:
        tag, on_result, on_error = self._pending.pop(job_id, (None, None, None))
        if tag is not None:
            self._busy.discard(tag)
        if isinstance(error, BaseException):
            if on_error is not None:
                on_error(error)
            else:
                _log.warning("background job failed: %s", error)
            return
        if on_result is not None:
            on_result(result)

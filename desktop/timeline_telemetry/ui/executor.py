"""The runtime's :class:`~timeline_telemetry.runtime.Executor` on the tray's QThreadPool.

The runtime decides when a job runs; in the tray the work then runs on Qt's pool, beside the
dashboard's own background reads, so one pool bounds all of the app's worker threads.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRunnable, QThreadPool

__all__ = ["QtPoolExecutor"]


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self._fn = fn

    def run(self) -> None:
        self._fn()  # the scheduler catches and logs a job's exceptions


#: At most this many callables keep a runnable (the scheduler has one per job); others
#: get a fresh one per run.
_KEPT = 32


class QtPoolExecutor:
    """Runs submitted work on ``pool`` (never blocks the caller).

    A callable submitted again (the scheduler submits one object per job) reuses the
    runnable made for it the first time: making a QRunnable subclass instance and letting
    Qt delete it costs several times the start itself on an idle machine, once or twice a
    second for the life of the tray.
    """

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self._kept: dict[Callable[[], None], _Runnable] = {}

    def submit(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` on the pool."""
        runnable = self._kept.get(fn)
        if runnable is None:
            runnable = _Runnable(fn)
            if len(self._kept) < _KEPT:
                runnable.setAutoDelete(False)  # ours to start again; Qt never deletes it
                self._kept[fn] = runnable
        self._pool.start(runnable)

    def shutdown(self, *, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the pool's work (jobs and UI reads alike)."""
        return bool(self._pool.waitForDone(max(0, int(timeout_s * 1000))))

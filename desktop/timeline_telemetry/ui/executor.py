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


class QtPoolExecutor:
    """Runs submitted work on ``pool`` (never blocks the caller)."""

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool

    def submit(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` on the pool."""
        self._pool.start(_Runnable(fn))

    def shutdown(self, *, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the pool's work (jobs and UI reads alike)."""
        return bool(self._pool.waitForDone(max(0, int(timeout_s * 1000))))

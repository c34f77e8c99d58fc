"""Turning an exporter's real outcomes into its :class:`ExportStatus`.

Every exporter records what happened (``success()``, ``failure(error)``, ``fatal(error)``) and
reads its status from here, so all exporters follow the same rules:

* ``Healthy`` after a success;
* ``Degraded(reason)`` after 1 or 2 consecutive failures that follow a success;
* ``Failed(error)`` after ``failed_after`` (3) consecutive failures, after a failure when
  nothing has ever succeeded (there is no "good state" to degrade from), or after a fatal
  error (the port could not be bound, the server died). A later success makes it
  ``Healthy`` again: exporters keep trying every interval.
"""

from __future__ import annotations

import threading

from .base import ExportStatus

__all__ = ["StatusTracker"]


class StatusTracker:
    """Thread-safe outcome counter behind ``MetricsExporter.status()``.

    ``initial`` is the status before any outcome (``Healthy`` for a server that is up and
    waiting to be scraped, say). ``errors`` counts every failure since creation.
    """

    def __init__(
        self, *, failed_after: int = 3, initial: ExportStatus | None = None
    ) -> None:
        if failed_after < 1:
            raise ValueError(f"failed_after must be >= 1, got {failed_after}")
        self._failed_after = failed_after
        self._lock = threading.Lock()
        self._status = initial if initial is not None else ExportStatus.healthy()
        self._consecutive = 0
        self._ever_succeeded = False
        self._errors = 0
        self._last_error = ""

    def success(self) -> None:
        """The last attempt worked."""
        with self._lock:
            self._consecutive = 0
            self._ever_succeeded = True
            self._status = ExportStatus.healthy()

    def failure(self, error: str) -> None:
        """The last attempt failed with ``error`` (a short, user-readable text)."""
        with self._lock:
            self._consecutive += 1
            self._errors += 1
            self._last_error = error
            if not self._ever_succeeded or self._consecutive >= self._failed_after:
                self._status = ExportStatus.failed(error)
            else:
                self._status = ExportStatus.degraded(
                    f"{self._consecutive} consecutive failure"
                    f"{'s' if self._consecutive > 1 else ''}: {error}"
                )

    def fatal(self, error: str) -> None:
        """Something that will not fix itself by retrying (cannot bind, server died)."""
        with self._lock:
            self._consecutive += 1
            self._errors += 1
            self._last_error = error
            self._status = ExportStatus.failed(error)

    def set(self, status: ExportStatus) -> None:
        """Force a status that is not an outcome (``Degraded("stopped")`` after shutdown)."""
        with self._lock:
            self._status = status

    def status(self) -> ExportStatus:
        """The current status."""
        with self._lock:
            return self._status

    @property
    def errors(self) -> int:
        """Failures (including fatal ones) since creation."""
        return self._errors

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._consecutive

    @property
    def last_error(self) -> str:
        """The text of the most recent failure, or ``""``."""
        return self._last_error

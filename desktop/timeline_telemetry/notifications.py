"""A Qt-free notification centre: what the user should be told, coalesced and rate-limited.

The core (health transitions, alerts, worker errors) posts :class:`Notice` objects; a front
end (the tray's notifier) asks :meth:`NotificationCentre.due` for what to show now. Several
notices posted within ``coalesce_s`` become one notification; at most ``max_per_window``
notifications are shown per ``rate_window_s`` (the rest are folded into the next one); in
Do not disturb nothing is shown (notices are counted as suppressed). Thread-safe: ``post``
may be called from worker threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Notice", "Notification", "NotificationCentre"]


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing worth telling: ``key`` names the item to open on click (``health:disk``)."""

    title: str
    body: str
    key: str
    severity: int = 0  # 0 info/recovered, 1 warning, 2 critical


@dataclass(frozen=True, slots=True)
class Notification:
    """What to show: one notice, or several coalesced (``keys`` in posting order)."""

    title: str
    body: str
    keys: tuple[str, ...]
    severity: int


class NotificationCentre:
    """Collects notices and releases them as calm, coalesced notifications.

    ``clock`` is monotonic seconds. The owner calls :meth:`due` after ``coalesce_s`` (and
    whenever it likes); ``due`` returns a :class:`Notification` or None.
    """

    def __init__(
        self,
        *,
        coalesce_s: float = 3.0,
        max_per_window: int = 3,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if coalesce_s < 0 or rate_window_s <= 0 or max_per_window < 1:
            raise ValueError("coalesce_s >= 0, rate_window_s > 0 and max_per_window >= 1")
        self._coalesce = coalesce_s
        self._max = max_per_window
        self._window = rate_window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[Notice] = []
        self._first_at: float | None = None
        self._shown: deque[float] = deque()
        self._dnd = False
        self._suppressed = 0

    @property
    def do_not_disturb(self) -> bool:
        """When True, notices are dropped (and counted in :attr:`suppressed`)."""
        return self._dnd

    @do_not_disturb.setter
    def do_not_disturb(self, on: bool) -> None:
        with self._lock:
            self._dnd = on
            if on:
                self._suppressed += len(self._pending)
                self._pending.clear()
                self._first_at = None

    @property
    def suppressed(self) -> int:
        """How many notices Do not disturb swallowed."""
        return self._suppressed

    @property
    def coalesce_s(self) -> float:
        """How long the centre waits for more notices before releasing them as one."""
        return self._coalesce

    def post(self, notice: Notice) -> None:
        """Queue a notice (dropped in Do not disturb)."""
        with self._lock:
            if self._dnd:
                self._suppressed += 1
                return
            if not self._pending:
                self._first_at = self._clock()
            self._pending.append(notice)

    def due(self) -> Notification | None:
        """The notification to show now, if the coalescing window passed and the rate allows."""
        with self._lock:
            now = self._clock()
            if not self._pending or self._first_at is None:
                return None
            if now - self._first_at < self._coalesce:
                return None
            while self._shown and now - self._shown[0] >= self._window:
                self._shown.popleft()
            if len(self._shown) >= self._max:
                return None
            notices, self._pending, self._first_at = self._pending, [], None
            self._shown.append(now)
        return _merge(notices)

    def next_due_in(self) -> float | None:
        """Seconds until :meth:`due` may return something (None when nothing is pending)."""
        with self._lock:
            if not self._pending or self._first_at is None:
                return None
            now = self._clock()
            wait = self._first_at + self._coalesce - now
            if len(self._shown) >= self._max:
                wait = max(wait, self._shown[0] + self._window - now)
            return max(0.0, wait)


def _merge(notices: list[Notice]) -> Notification:
    # Several notices about one key: only the latest matters (a flap shows its end state).
    latest: dict[str, Notice] = {}
    for n in notices:
        latest.pop(n.key, None)
        latest[n.key] = n
    items = list(latest.values())
    severity = max(n.severity for n in items)
    if len(items) == 1:
        only = items[0]
        return Notification(only.title, only.body, (only.key,), only.severity)
    body = "\n".join(f"{n.title}: {n.body}" if n.body else n.title for n in items)
    return Notification(f"{len(items)} telemetry changes", body,
                        tuple(n.key for n in items), severity)

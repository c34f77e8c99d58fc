"""What the runtime tells its observers: plain event objects on one bus.

The tray subscribes and re-emits each event as a Qt signal on its GUI thread; headless,
the log is the observer. Subscribers are called on the thread that produced the event (a
job's worker), so they must be quick and must not call back into a blocking runtime method.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.health import HealthReport, HealthTransition
from timeline_telemetry.metrics import Snapshot

__all__ = [
    "AlertNotice",
    "ClockChanged",
    "EventBus",
    "ExporterChanged",
    "HealthChanged",
    "HealthRound",
    "PausedChanged",
    "RulesReloaded",
    "RuntimeEvent",
    "SnapshotCollected",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SnapshotCollected:
    """A collection finished."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class ClockChanged:
    """The wall clock stepped (``kind`` ``step``, by ``step_s``) or the machine was
    suspended or the process stopped (``suspend``, for ``gap_s``). ``offset_s``: the step
    still in effect, which the history corrects its stamps by (0 once the clock is back)."""

    kind: str
    at: float
    offset_s: float
    step_s: float = 0.0
    gap_s: float = 0.0


@dataclass(frozen=True, slots=True)
class HealthRound:
    """A health round finished."""

    report: HealthReport


@dataclass(frozen=True, slots=True)
class HealthChanged:
    """A check (or ``system``) changed status."""

    transition: HealthTransition


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """The desktop action: an alert group fired or resolved (``key`` stays the same)."""

    key: str
    title: str
    body: str
    severity: str
    firing: bool


@dataclass(frozen=True, slots=True)
class ExporterChanged:
    """An exporter's status changed (failing, or recovered)."""

    name: str
    old: ExportStatus | None
    new: ExportStatus


@dataclass(frozen=True, slots=True)
class PausedChanged:
    """Collection was paused or resumed."""

    paused: bool


@dataclass(frozen=True, slots=True)
class RulesReloaded:
    """A rule reload finished (``trigger``: start, sighup, api, file change, tray). ``ok``
    False: the old rules stay and ``error`` says why, one ``file:line:column: ...`` per line.
    ``rules`` and ``files``: what is loaded now. ``at``: the wall-clock time."""

    ok: bool
    at: float
    trigger: str
    rules: int
    files: tuple[str, ...]
    error: str | None = None


RuntimeEvent = (SnapshotCollected | HealthRound | HealthChanged | AlertNotice
                | ExporterChanged | PausedChanged | RulesReloaded | ClockChanged)
Listener = Callable[[RuntimeEvent], None]


class EventBus:
    """Fan-out of :data:`RuntimeEvent` to subscribers; a failing subscriber is logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every later event; returns unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: RuntimeEvent) -> None:
        """Hand ``event`` to every subscriber, on this thread."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                _log.exception("runtime event subscriber failed on %s", type(event).__name__)

"""Connects the core's AlertManager to the tray: the Alerts tab's view and the notifier.

Alert notifications reach the tray as runtime events (see ``controller.py``). Snooze and
acknowledge are silences on the alert's exact label set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from timeline_telemetry.alerts import AlertManager
from timeline_telemetry.alerts.state import AlertState
from timeline_telemetry.history import LabelMatcher

from .providers import AlertRow

__all__ = ["ACKNOWLEDGE_SECONDS", "AlertManagerView"]

_log = logging.getLogger(__name__)

#: An acknowledged alert stays quiet this long (or until it resolves and fires again later).
ACKNOWLEDGE_SECONDS = 4 * 3600.0



def alert_key(labels: tuple[tuple[str, str], ...]) -> str:
    """A stable key for one alert: its sorted labels."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels))


class AlertManagerView:
    """The tray's ``AlertsView`` over a running :class:`AlertManager`."""

    def __init__(self, alerts: AlertManager, clock: Callable[[], float] = time.time) -> None:
        self._alerts = alerts
        self._clock = clock
        self._labels: dict[str, tuple[tuple[str, str], ...]] = {}

    def _key(self, labels: tuple[tuple[str, str], ...]) -> str:
        key = alert_key(labels)
        self._labels[key] = tuple(sorted(labels))
        return key

    def list_active(self) -> list[AlertRow]:
        rows = []
        now = self._clock()
        for a in self._alerts.firing():
            silenced = any(
                all(m.matches(dict(a.labels)) for m in s.matchers)
                for s in self._alerts.silences(now)
            )
            state = "silenced" if silenced else (
                "firing" if a.state is AlertState.FIRING else "pending"
            )
            rows.append(AlertRow(
                key=self._key(a.labels),
                name=a.name,
                state=state,
                severity=a.label("severity") or "warning",
                summary=a.annotations.get("summary") or a.annotations.get("description", ""),
                since=(a.fired_at_ms or a.active_at_ms) / 1000.0,
            ))
        return rows

    def history(self, limit: int) -> list[AlertRow]:
        # Resolved ones only: a firing (or silenced) alert is already in list_active, and
        # its "firing" event listed too would count it twice.
        return [
            AlertRow(
                key=self._key(tuple(e.labels.items())),
                name=e.alertname,
                state=e.event,
                severity=e.labels.get("severity", "warning"),
                summary=e.annotations.get("summary", ""),
                since=e.ts,
            )
            for e in self._alerts.history(limit * 4) if e.event == "resolved"
        ][:limit]

    def snooze(self, key: str, seconds: float) -> None:
        self._silence(key, seconds, "snoozed from the tray")

    def acknowledge(self, key: str) -> None:
        self._silence(key, ACKNOWLEDGE_SECONDS, "acknowledged from the tray")

    def _silence(self, key: str, seconds: float, comment: str) -> None:
        labels = self._labels.get(key)
        if labels is None:
            _log.warning("no alert %r to silence (it may have resolved)", key)
            return
        matchers = [LabelMatcher(name, "=", value) for name, value in labels]
        now = self._clock()
        self._alerts.add_silence(matchers, ends_at=now + seconds, starts_at=now,
                                 created_by="tray", comment=comment)

"""Qt-free interfaces the UI consumes for features owned by other packages.

The lead wires real objects (alerting, the diagnostics bundle) to these; when a provider is
None the UI shows "not available" instead of the feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["AlertRow", "AlertsView", "BundleExporter"]


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert as the UI shows it. ``state``: firing, pending, silenced or resolved."""

    key: str
    name: str
    state: str
    severity: str
    summary: str
    since: float  # Unix seconds the alert entered ``state``


class AlertsView(Protocol):
    """What the Alerts tab and the tray's Active alerts menu need from alerting.

    Methods are called on a worker thread, never on the UI thread.
    """

    def list_active(self) -> list[AlertRow]:
        """Firing, pending and silenced alerts."""
        ...

    def history(self, limit: int) -> list[AlertRow]:
        """Recently resolved alerts, newest first."""
        ...

    def snooze(self, key: str, seconds: float) -> None:
        """Silence one alert's notifications for ``seconds``."""
        ...

    def acknowledge(self, key: str) -> None:
        """Mark an alert as seen (it keeps firing but stops re-notifying)."""
        ...


#: Builds a diagnostics bundle in the given folder and returns the file written.
#: Called on a worker thread.
BundleExporter = Callable[[Path], Path]

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


class BundleExporter(Protocol):
    """The diagnostics bundle as the tray drives it: a preview of what would go in (listed
    before anything is written), then the zip written into a folder with progress. Both run
    on the worker pool; ``progress(step, fraction)`` is called from that thread."""

    def preview(self) -> list[tuple[str, int]]:
        """``(file name in the zip, bytes)`` for every entry, plus scrub counts as entries
        named ``"scrubbed: <kind>"``."""
        ...

    def write(self, folder: Path, progress: Callable[[str, float], None]) -> Path:
        """Write the zip into ``folder`` and return its path."""
        ...

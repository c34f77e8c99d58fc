"""What a bundle reads from a running agent: :class:`Providers`, filled by ``live`` (from a
manager in this process or an agent's local API) and read by ``bundle``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JsonProvider", "Providers"]

JsonProvider = Callable[[], object]


@dataclass(frozen=True)
class Providers:
    """Live data from a running agent (the tray passes its manager's); each is optional.

    ``snapshot_text``: Prometheus text of the current snapshot; ``health``: current report
    and transitions as JSON-able data; ``alerts``: active alerts, history and silences;
    ``export_status``: exporter name -> status. Without ``snapshot_text`` the configured
    Prometheus endpoint is scraped if the agent answers.
    """

    snapshot_text: Callable[[], str] | None = None
    health: JsonProvider | None = None
    alerts: JsonProvider | None = None
    export_status: JsonProvider | None = None

"""What a bundle reads from a running agent: :class:`Providers`, filled by ``live`` (from a
manager in this process or an agent's local API) and read by ``bundle``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JsonProvider", "Providers", "TracesProvider"]

JsonProvider = Callable[[], object]
#: The trace store's spans ending at or after a time (Unix seconds): ``{"spans": [...], ...}``.
TracesProvider = Callable[[float], object]


@dataclass(frozen=True)
class Providers:
    """Live data from a running agent (the tray passes its manager's); each is optional.

    ``snapshot_text``: Prometheus text of the current snapshot; ``health``: current report
    and transitions as JSON-able data; ``alerts``: active alerts, history and silences;
    ``export_status``: exporter name -> status; ``traces``: the trace store's spans from
    the bundle's window, error spans first. Without ``snapshot_text`` the configured
    Prometheus endpoint is scraped if the agent answers; without ``traces`` the store
    saved in the data dir at the agent's last stop is read. ``diagnose``: each configured
    upstream tried once, exporters' status, the receiver's counts (the agent's
    ``/api/v1/diagnose``); ``threads``: the agent's thread dump (``/api/v1/threads``). Without
    them the bundle says these need the running agent. ``top_processes``: the busiest
    processes sampled from a time (Unix seconds) on (``/api/v1/processes/top``); without it
    the samples the agent saved at its last stop are read.
    """

    snapshot_text: Callable[[], str] | None = None
    health: JsonProvider | None = None
    alerts: JsonProvider | None = None
    export_status: JsonProvider | None = None
    traces: TracesProvider | None = None
    diagnose: JsonProvider | None = None
    threads: JsonProvider | None = None
    top_processes: TracesProvider | None = None

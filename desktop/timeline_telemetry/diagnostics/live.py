"""Live data for a bundle: from a running manager (the tray passes its own), or a one-off
health round when the agent is not running."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .providers import Providers
from .timefmt import local_rfc3339

if TYPE_CHECKING:
    from timeline_telemetry.config.schema import TelemetryConfig
    from timeline_telemetry.health import HealthCheckManager, HealthTransition
    from timeline_telemetry.manager import TelemetryManager
    from timeline_telemetry.runtime.agent import AgentRuntime
    from timeline_telemetry.runtime.client import LiveAgent

__all__ = [
    "DIAGNOSE_TIMEOUT_S",
    "TRACE_SPANS_LIMIT",
    "agent_api_providers",
    "alerts_store_path",
    "health_json",
    "in_process_providers",
    "manager_providers",
    "one_off_health",
    "runtime_providers",
]

#: How long a bundle waits for the agent's ``/api/v1/diagnose`` (its probes take at most 5 s).
DIAGNOSE_TIMEOUT_S = 10.0
#: The most spans a bundle takes from the trace store (error spans first).
TRACE_SPANS_LIMIT = 5000


def _iso(ts: float) -> str:
    """Local RFC 3339 with offset, as every time in the bundle."""
    return local_rfc3339(ts)


def _transitions(items: Iterable[HealthTransition]) -> list[dict[str, object]]:
    return [{"when": _iso(t.when), "component": t.component, "old": t.old.label,
             "new": t.new.label, "message": t.message, "seq": t.seq} for t in items]


def health_json(health: HealthCheckManager, *, source: str) -> dict[str, object]:
    """``{"source", "current", "transitions"}`` from a health manager (latest results,
    no new checks run)."""
    from timeline_telemetry.health import report_to_json

    return {"source": source, "current": report_to_json(health.report()),
            "transitions": _transitions(health.transitions())}


def one_off_health(config: TelemetryConfig, data_dir: Path, *,
                   logged: list[dict[str, object]] | None = None) -> Callable[[], object]:
    """A health provider that runs ``config``'s checks once (as ``timeline-telemetry check``
    does); for bundles made while the agent is not running. The transitions are then
    ``logged``: those the agent wrote to its log (see :mod:`.agent_events`), if given."""

    def provide() -> object:
        from timeline_telemetry.health import (
            HealthCheckManager,
            build_health_checks,
            report_to_json,
        )

        manager = HealthCheckManager.from_config(config.health)
        try:
            for check in build_health_checks(config.health, data_dir=data_dir,
                                             editor_config=config.editor, export_status=None):
                manager.add_check(check)
            report = manager.check_all(force=True)
        finally:
            manager.stop(timeout_s=1.0)
        if logged is None:
            return {"source": "one-off run by the bundle (the agent's transitions are only "
                              "available from a running agent)",
                    "current": report_to_json(report), "transitions": []}
        return {"source": "one-off run by the bundle; the transitions are those the agent "
                          "logged in the window", "current": report_to_json(report),
                "transitions": list(logged)}

    return provide


def manager_providers(
    manager: TelemetryManager, *, alerts: Callable[[], object] | None = None
) -> Providers:
    """Providers reading a running :class:`TelemetryManager` (the tray's): the current
    snapshot, health with transitions, each exporter's status; ``alerts`` when alerting runs."""
    from timeline_telemetry.export.exposition import ExpositionRenderer

    def snapshot_text() -> str:
        return ExpositionRenderer().render(manager.metrics.snapshot()).decode("utf-8")

    def health() -> object:
        if manager.health is None:
            return {"available": False, "note": "health checks are disabled in the config"}
        return health_json(manager.health, source="the running agent")

    def export_status() -> object:
        return {name: {"state": s.state.value, "detail": s.detail}
                for name, s in manager.get_export_status().items()}

    def traces(since: float) -> object:
        receiver = manager.receiver
        if receiver is None:
            return {"available": False, "note": "the OTLP receiver is off (telemetry.ingest)"}
        store = receiver.trace_store
        return {"source": "the running agent's trace store", "traces": len(store),
                "spans_kept": store.span_count, "max_traces": store.max_traces,
                "spans": store.export(since_ns=int(since * 1e9), limit=TRACE_SPANS_LIMIT)}

    return Providers(snapshot_text=snapshot_text, health=health, alerts=alerts,
                     export_status=export_status, traces=traces)


def alerts_store_path(config: TelemetryConfig, data_dir: Path) -> Path:
    """The alert store a bundle reads the history and silences from."""
    return config.alerts.history_path or data_dir / "alerts.sqlite3"


def agent_api_providers(live: LiveAgent, alerts_db: Path) -> Providers:
    """Providers reading an agent running in another process (``bundle`` from a terminal)
    through its local API: live export status, health with transitions, active alerts (the
    history and silences from its alert store), and its /metrics."""
    from timeline_telemetry.runtime.client import fetch_api

    who = f"the running agent ({live.info.mode}, pid {live.info.pid}, via {live.info.api})"
    api = live.info.api
    no_api = {"available": False, "note": "the running agent serves no local API"}

    def snapshot_text() -> str:
        from .sources import fetch_bounded

        url = live.info.listeners.get("prometheus")
        if url is None:
            return "# the running agent serves no /metrics (no Prometheus exporter)\n"
        return fetch_bounded(url, 3.0).decode("utf-8", errors="replace")

    def traces(since: float) -> object:
        if api is None:
            return no_api
        return fetch_api(api, f"traces?since={since:.3f}&limit={TRACE_SPANS_LIMIT}")

    def diagnose() -> object:
        return no_api if api is None else fetch_api(api, "diagnose",
                                                     timeout_s=DIAGNOSE_TIMEOUT_S)

    def threads() -> object:
        return "the running agent serves no local API" if api is None else \
            fetch_api(api, "threads")

    def top_processes(since: float) -> object:
        if api is None:
            return no_api
        return fetch_api(api, f"processes/top?since={since:.3f}")

    return _api_shaped(who=who, alerts_db=alerts_db, snapshot_text=snapshot_text,
                       status=lambda: live.status or {}, health=lambda: live.health or {},
                       alerts=lambda: live.alerts or [], traces=traces, diagnose=diagnose,
                       threads=threads, top_processes=top_processes)


def in_process_providers(runtime: AgentRuntime, alerts_db: Path) -> Providers:
    """The same providers as :func:`agent_api_providers`, read from a runtime in this
    process (the tray's "Export diagnostics bundle"): the same producers the local API
    serves, so the tray's zip and ``timeline-telemetry bundle``'s hold the same files with
    the same fields."""
    from timeline_telemetry.export.exposition import ExpositionRenderer

    manager = runtime.manager
    who = f"the running agent ({runtime.mode}, pid {os.getpid()}, in process)"

    def snapshot_text() -> str:
        return ExpositionRenderer().render(manager.metrics.snapshot()).decode("utf-8")

    def alerts() -> list[object]:
        engine = manager.alerts
        if engine is None:
            return []
        found = engine.prometheus_alerts().get("alerts", [])
        return list(found) if isinstance(found, list) else []

    return _api_shaped(who=who, alerts_db=alerts_db, snapshot_text=snapshot_text,
                       status=runtime.status, health=runtime.health_data, alerts=alerts,
                       traces=lambda since: runtime.traces_data(since, TRACE_SPANS_LIMIT),
                       diagnose=runtime.diagnose_data, threads=runtime.threads_data,
                       top_processes=runtime.top_processes_data)


def _api_shaped(
    *,
    who: str,
    alerts_db: Path,
    snapshot_text: Callable[[], str],
    status: Callable[[], Mapping[str, object]],
    health: Callable[[], Mapping[str, object]],
    alerts: Callable[[], list[object]],
    traces: Callable[[float], object],
    diagnose: Callable[[], object],
    threads: Callable[[], object],
    top_processes: Callable[[float], object],
) -> Providers:
    """Providers from the local API's answers (``/api/v1/status``, ``health``, ``alerts``,
    ``traces``, ``diagnose``, ``threads``, ``processes/top``) however they are reached, so
    the CLI and the tray write the same files."""
    from timeline_telemetry.alerts.store import alerts_from_file

    def sourced(value: object) -> object:
        return {"source": who, **value} if isinstance(value, Mapping) else {"source": who}

    def alerts_doc() -> object:
        stored = alerts_from_file(alerts_db) or {}
        return {**stored, "source": who, "active": alerts()}

    def export_status() -> object:
        st = status()
        return {"source": who, "exporters": st.get("exporters", {}),
                "budget": st.get("budget"), "received": st.get("received"),
                "jobs": st.get("jobs"), "paused": st.get("paused")}

    return Providers(snapshot_text=snapshot_text, health=lambda: sourced(health()),
                     alerts=alerts_doc, export_status=export_status,
                     traces=lambda since: sourced(traces(since)),
                     diagnose=lambda: sourced(diagnose()), threads=threads,
                     top_processes=lambda since: sourced(top_processes(since)))


def runtime_providers(providers: Providers, runtime: AgentRuntime) -> Providers:
    """``providers`` with ``diagnose`` and ``threads`` read from a runtime in this process
    (the tray's)."""
    import dataclasses

    def diagnose() -> object:
        return {"source": f"the running agent ({runtime.mode}, in process)",
                **runtime.diagnose_data()}

    return dataclasses.replace(providers, diagnose=diagnose, threads=runtime.threads_data)

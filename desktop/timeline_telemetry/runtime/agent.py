"""AgentRuntime: the one way the core runs, for the tray and for ``run --headless`` alike.

``start()`` takes the home's instance lock, builds the pipeline (:class:`TelemetryManager`),
serves the local API on its listener, schedules every periodic job on one
:class:`~.scheduler.Scheduler` (collection, health rounds, alert evaluation, the exporter
watch, the top-processes sampler), collects once so the first scrape sees every metric, and
writes ``agent.json`` for the CLI. ``stop()`` stops the jobs with a deadline, collects once
more and flushes; the trace store and the top-processes ring are saved in the data dir at stop
and read back at start. The two
front ends differ only in what they pass: an executor (the tray's is its ``QThreadPool``)
and who listens to :attr:`events` (the tray re-emits them as Qt signals; headless, the log
is the observer).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timeline_telemetry import __version__
from timeline_telemetry.alerts.build import build_rule_set, rule_files
from timeline_telemetry.alerts.rules import RuleFileError
from timeline_telemetry.collectors.base import Collector
from timeline_telemetry.collectors.top_processes import (
    DEFAULT_INTERVAL_S as TOP_PROCESSES_INTERVAL_S,
)
from timeline_telemetry.collectors.top_processes import (
    PERSIST_FILE as TOP_PROCESSES_FILE,
)
from timeline_telemetry.collectors.top_processes import TopProcessesRecorder
from timeline_telemetry.config.errors import ConfigError
from timeline_telemetry.config.schema import AlertsConfig, TelemetryConfig
from timeline_telemetry.export.base import ExportState, ExportStatus, MetricsExporter
from timeline_telemetry.health import (
    HealthReport,
    HealthStatus,
    HealthTransition,
    report_to_json,
)
from timeline_telemetry.health.files import OpenFile, OpenFilesHealthCheck
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.metrics import Labels, MetricKind
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.promql.syntax import PromQLError

from .api import (
    DIAGNOSE_PATH,
    RELOAD_PATH,
    THREADS_PATH,
    TOP_PROCESSES_PATH,
    TRACES_PATH,
    api_routes,
    reload_route,
    since_route,
    traces_route,
)
from .clock import ClockEvent, ClockWatch, boottime
from .events import (
    AlertNotice,
    ClockChanged,
    EventBus,
    ExporterChanged,
    HealthChanged,
    HealthRound,
    PausedChanged,
    RulesReloaded,
    SnapshotCollected,
)
from .instance import AgentInfo, InstanceLock, state_file
from .scheduler import Executor, Job, Scheduler, ThreadExecutor

if TYPE_CHECKING:
    from timeline_telemetry.ingest.trace_store import TraceStore

__all__ = ["EXPORTER_WATCH_S", "RULES_WATCH_S", "AgentRuntime"]

_log = logging.getLogger("timeline_telemetry.runtime")

#: How often exporter statuses are compared, to log a failure and its recovery once each.
EXPORTER_WATCH_S = 2.0
#: The ``telemetry.alerts`` fields a reload applies to running alerting (the rest of the
#: config, ``alerts.enabled`` and ``alerts.history_path`` take effect at restart).
LIVE_ALERT_FIELDS = ("rule_files", "rules", "evaluation_interval", "resend_delay",
                     "desktop_notifications", "desktop_repeat_interval", "actions",
                     "default_silence_duration", "flap", "storm", "render_silence")
#: How often the rule files' mtime, size and inode are compared; a change reloads them.
RULES_WATCH_S = 5.0
_ALERT_LOG = logging.getLogger("timeline_telemetry.alerts.notify")


class _BusNotifier:
    """The desktop action's notifier: a log line (both modes) and an :class:`AlertNotice`
    on the bus (the tray shows it)."""

    def __init__(self, events: EventBus) -> None:
        self._events = events

    def notify(
        self, title: str, body: str, *, severity: str, key: str, status: str = "firing"
    ) -> None:
        firing = status != "resolved"
        level = logging.ERROR if severity == "critical" else logging.WARNING
        rule = key.split("/", 1)[0]
        _ALERT_LOG.log(level if firing else logging.INFO, "ALERT %s %s [%s]: %s%s",
                       rule or "?", "firing" if firing else "resolved", severity, title,
                       f" ({body})" if body else "")
        self._events.publish(AlertNotice(key, title, body, severity, firing))


class AgentRuntime:
    """See the module docstring. ``mode`` (``tray`` or ``headless``) is only reported.

    ``config_source`` re-reads the config (the CLI passes its loader): a reload then applies
    ``telemetry.alerts`` from it too (``LIVE_ALERT_FIELDS``: the rules, actions, cadence,
    storm, flap and render silence). Without it, a reload re-reads the rule files only.
    """

    def __init__(
        self,
        config: TelemetryConfig,
        paths: AppPaths,
        *,
        mode: str,
        executor: Executor | None = None,
        collectors: Sequence[Collector] | None = None,
        exporters: Sequence[MetricsExporter] | None = None,
        clock: Callable[[], float] = time.time,
        config_source: Callable[[], TelemetryConfig] | None = None,
        top_processes_interval_s: float = TOP_PROCESSES_INTERVAL_S,
    ) -> None:
        self.config = config
        self.paths = paths
        self.mode = mode
        self.events = EventBus()
        #: Wall-clock steps and suspends (see :mod:`.clock`); ticked before each collection
        #: and evaluation, and by its own job while collection is paused. Its corrected
        #: clock is the pipeline's: snapshot stamps, the history, alert timers and exports
        #: never see a step.
        self.clock_watch = ClockWatch(config.metrics.collection_interval, wall=clock,
                                      boottime=boottime())
        self.manager = TelemetryManager(
            config, paths=paths, collectors=collectors, exporters=exporters,
            notifier=_BusNotifier(self.events), clock=self.clock_watch.now)
        self.scheduler = Scheduler(executor or ThreadExecutor())
        self._clock = self.clock_watch.now
        #: The busiest processes of the machine, sampled by the ``top-processes`` job: the
        #: history records only the editor's, and a bundle needs the others over its window.
        self.top_processes = TopProcessesRecorder(clock=self.clock_watch.now,
                                                  interval_s=top_processes_interval_s)
        self._instance = InstanceLock(paths.data_dir)
        self._started_at = 0.0
        self._started = False
        self._stopped = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._export_seen: dict[str, ExportStatus] = {}
        #: ``telemetry_job_skipped_ticks_total`` as last written.
        self._skipped_seen: list[tuple[Labels, float]] = []
        self._last_errors: dict[str, tuple[float, str]] = {}
        self._health_factor = 1
        self._files_checked = False  # the ``history`` check is the OpenFilesHealthCheck
        #: A health transition happened: evaluate the rules once its gauges are stored.
        self._health_changed = threading.Event()
        self.api_url: str | None = None
        self._config_source = config_source
        self._alerts_cfg: AlertsConfig = config.alerts
        self._reload_lock = threading.Lock()
        self._rules_seen: dict[str, tuple[int, int, int] | None] = {}
        self._last_reload: RulesReloaded | None = None
        #: agent.json was written: from then on its absence means the data folder went.
        self._published = False
        #: The trigger of a reload asked for with :meth:`request_reload`, not yet run.
        self._reload_wanted: str | None = None
        #: The config file, watched with the rule files when ``config_source`` re-reads it.
        self._config_seen = _fingerprints(self._config_files())
        #: The last config whose changes were logged as "takes effect at restart" (said once).
        self._restart_noted: TelemetryConfig | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start everything (see the module docstring). Raises ``AlreadyRunning`` when
        another agent holds this home, or what an exporter raises on start (a port in
        use), after undoing what was started."""
        if self._started:
            return
        self._instance.acquire()  # before any log line: a refused start leaves none
        _log.info("timeline-telemetry %s starting as %s (config: %s, collection every %gs)",
                  __version__, self.mode, self.config.source,
                  self.config.metrics.collection_interval)
        self._started = True
        self._started_at = self._clock()
        try:
            m = self.manager
            self._rules_seen = _fingerprints(rule_files(self._alerts_cfg))
            m.initialize()
            self._add_files_check()
            self._load_traces()
            self._load_top_processes()
            if m.alerts is not None:
                self._last_reload = RulesReloaded(
                    True, self._clock(), "start", self._rule_count(),
                    tuple(str(p) for p in rule_files(self._alerts_cfg)))
            self._serve_api()
            self._schedule()
            if "collect" in self.scheduler.jobs:
                self.scheduler.run_now("collect")  # the first scrape sees every metric
            self.scheduler.start()
            self._instance.publish(self.info())
            self._published = True
        except BaseException:
            self.stop()
            raise
        self._log_where()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the jobs (bounded), collect once more, flush and close; idempotent."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        deadline = time.monotonic() + timeout_s
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        clean = self.scheduler.stop(timeout_s=max(0.1, (deadline - time.monotonic()) / 2))
        receiver = self.manager.receiver
        self.manager.shutdown(timeout_s=max(0.1, deadline - time.monotonic()),
                              final_collection=clean)
        if receiver is not None and receiver.has_trace_store:
            # Stopped now: no span arrives while the store is written. A store never made
            # (no span, no saved file) writes nothing, and imports nothing.
            self._save_traces(receiver.trace_store)
        self._save_top_processes()
        self._instance.release()

    @property
    def trace_store_file(self) -> Path:
        """Where the trace store is kept between runs (written at stop, read at start)."""
        from timeline_telemetry.ingest.trace_files import PERSIST_FILE

        return self.paths.data_dir / PERSIST_FILE

    def _load_traces(self) -> None:
        receiver = self.manager.receiver
        if receiver is None or not self.trace_store_file.exists():
            return
        n = receiver.trace_store.load(self.trace_store_file)
        if n:
            _log.info("trace store: %d spans read back from %s", n, self.trace_store_file)

    def _save_traces(self, store: TraceStore) -> None:
        try:
            n = store.save(self.trace_store_file)
        except OSError as exc:
            _log.warning("trace store could not be saved to %s: %s", self.trace_store_file, exc)
            return
        _log.info("trace store: %d spans saved to %s", n, self.trace_store_file)

    @property
    def top_processes_file(self) -> Path:
        """Where the top-processes ring is kept between runs (written at stop, read at
        start)."""
        return self.paths.data_dir / TOP_PROCESSES_FILE

    def _load_top_processes(self) -> None:
        n = self.top_processes.load(self.top_processes_file)
        if n:
            _log.info("top processes: %d samples read back from %s", n,
                      self.top_processes_file)

    def _save_top_processes(self) -> None:
        if not len(self.top_processes):
            return  # never sampled nor loaded: keep whatever an earlier run saved
        try:
            n = self.top_processes.save(self.top_processes_file)
        except OSError as exc:
            _log.warning("top processes could not be saved to %s: %s",
                         self.top_processes_file, exc)
            return
        _log.info("top processes: %d samples saved to %s", n, self.top_processes_file)

    def top_processes_data(self, since_s: float = 0.0) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/processes/top``: the samples of the busiest
        processes taken at or after ``since_s`` (Unix seconds), oldest first."""
        return self.top_processes.to_json(since_s, fmt_time=_iso)

    def traces_data(self, since_s: float = 0.0, limit: int = 1000) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/traces``: the trace store's spans ending at or
        after ``since_s`` (Unix seconds), error spans first, at most ``limit``."""
        receiver = self.manager.receiver
        if receiver is None:
            return {"enabled": False, "spans": [],
                    "note": "the OTLP receiver is off (telemetry.ingest.enabled)"}
        store = receiver.trace_store
        return {"enabled": True, "traces": len(store), "spans_kept": store.span_count,
                "max_traces": store.max_traces,
                "spans": store.export(since_ns=int(since_s * 1e9), limit=limit)}

    def __enter__(self) -> AgentRuntime:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what the front ends call -------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Collection, health rounds and alert evaluation are held."""
        return self.scheduler.paused

    def pause(self) -> None:
        """Hold collection, health rounds and alert evaluation (the tray's Pause)."""
        if not self.scheduler.paused:
            self.scheduler.pause()
            _log.info("paused: collection, health checks and alert evaluation are held")
            self.events.publish(PausedChanged(True))

    def resume(self) -> None:
        """Release them; each runs at once."""
        if self.scheduler.paused:
            self.scheduler.resume()
            _log.info("resumed")
            self.events.publish(PausedChanged(False))

    def collect_now(self) -> None:
        """Collect at once instead of at the next tick."""
        self.scheduler.wake("collect")

    def check_health_now(self) -> None:
        """Run a health round at once."""
        self.scheduler.wake("health")

    def reload(self, *, trigger: str = "api") -> RulesReloaded:
        """Re-read the rule files (and the alerting part of the config, with a
        ``config_source``) through the safe loaders and swap them into the alert manager;
        alerts of rules that keep their name and labels keep their state. On any problem
        the old rules stay, the problem is logged (``file:line:column: ...``) and kept for
        ``/api/v1/status``. Publishes :class:`RulesReloaded`; thread-safe (one at a time)."""
        with self._reload_lock:
            return self._reload(trigger)

    def request_reload(self, trigger: str = "request") -> None:
        """Reload on the runtime's own ``rules`` job and return at once (the tray's menu,
        a signal); without that job (no schedule) it reloads on this thread."""
        self._reload_wanted = trigger
        if "rules" in self.scheduler.jobs:
            self.scheduler.wake("rules")
        else:
            self._watch_rules()

    @property
    def last_reload(self) -> RulesReloaded | None:
        """The last rule (re)load (its start counts), None without alerting."""
        return self._last_reload

    def set_interactive(self, interactive: bool) -> None:
        """The dashboard is open: the self-budget does not count the plots' cost."""
        self.manager.interactive = interactive

    # -- what the API and the CLI read --------------------------------------------------
    def listeners(self) -> dict[str, str]:
        """Every listener's name and URL (a port of 0 in the config shows as bound)."""
        out: dict[str, str] = {}
        for exp in self.manager.exporters:
            server = getattr(exp, "server", None)
            url = getattr(exp, "url", None)
            if server is not None and getattr(server, "running", False) and isinstance(url, str):
                out[exp.name] = url
                if self.manager.health is not None and "/health" in server.paths:
                    out["health"] = server.url("/health")
        receiver = self.manager.receiver
        if receiver is not None and receiver.server.running:
            out["otlp-receiver"] = receiver.endpoint
        if self.api_url is not None:
            out["api"] = self.api_url
        return out

    def _http_servers(self) -> dict[str, Any]:
        """The running HTTP listeners by name: the exporters' (Prometheus), then the
        receiver's (``otlp-receiver``)."""
        servers: dict[str, Any] = {}
        for exp in self.manager.exporters:
            server = getattr(exp, "server", None)
            if server is not None and getattr(server, "running", False):
                servers[exp.name] = server
        receiver = self.manager.receiver
        if receiver is not None and receiver.server.running:
            servers["otlp-receiver"] = receiver.server
        return servers

    def connections(self) -> dict[str, dict[str, int]]:
        """Each HTTP listener's open connections and those it refused for want of a slot."""
        return {name: {"open": int(srv.connections), "refused": int(srv.refused_connections)}
                for name, srv in self._http_servers().items()}

    def files(self) -> dict[str, str]:
        """Where the agent writes: history, exporter files, logs."""
        out: dict[str, str] = {}
        hist = self.manager.history
        if hist is not None:
            out["history"] = str(hist.path)
        for exp in self.manager.exporters:
            path = getattr(exp, "path", None)
            if isinstance(path, Path):
                out[exp.name] = str(path)
        tracer = self.manager.tracer
        if tracer is not None:
            for q in tracer.exporters:
                path = getattr(q.sender, "path", None)
                if isinstance(path, Path):
                    out[q.name] = str(path)
        receiver = self.manager.receiver
        if receiver is not None and receiver.logs_exporter is not None:
            path = getattr(receiver.logs_exporter.sender, "path", None)
            if isinstance(path, Path):
                out["otlp-logs"] = str(path)
        if self.manager.alerts is not None:
            out["alerts"] = str(self.config.alerts.history_path
                                or self.paths.data_dir / "alerts.sqlite3")
        out["log"] = str(self.paths.log_dir)
        return out

    def info(self) -> AgentInfo:
        """What ``agent.json`` says."""
        return AgentInfo(pid=os.getpid(), mode=self.mode, version=__version__,
                         started_at=self._started_at, config=str(self.config.source),
                         data_dir=str(self.paths.data_dir), listeners=self.listeners(),
                         api=self.api_url)

    def export_status(self) -> dict[str, dict[str, object]]:
        """Each exporter's status now, with its last error and when it was seen."""
        out: dict[str, dict[str, object]] = {}
        for name, st in self.manager.get_export_status().items():
            last = self._last_errors.get(name)
            out[name] = {"state": st.state.value, "detail": st.detail,
                         "last_error": last[1] if last else None,
                         "last_error_at": _iso(last[0]) if last else None}
        return out

    def get_export_status(self) -> dict[str, ExportStatus]:
        """The design document's ``get_export_status``: each exporter's status by name."""
        return self.manager.get_export_status()

    def status(self) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/status``."""
        m = self.manager
        budget = m.budget.decision if m.budget is not None else None
        received = {"spans": 0.0, "metric_points": 0.0, "log_records": 0.0}
        names = {"traces": "spans", "metrics": "metric_points", "logs": "log_records"}
        for labels, value in m.metrics.current_series("telemetry_otlp_received_items_total"):
            key = names.get(dict(labels).get("signal", ""))
            if key is not None:
                received[key] += value
        alerts = m.alerts
        firing = alerts.firing() if alerts is not None else []
        store = None
        if m.receiver is not None and received["spans"]:
            ts = m.receiver.trace_store
            store = {"traces": len(ts), "spans": ts.span_count}
        now = self._clock()
        return {
            "version": __version__, "pid": os.getpid(), "mode": self.mode,
            "started_at": _iso(self._started_at),
            "uptime_seconds": round(now - self._started_at, 3),
            "config": str(self.config.source), "data_dir": str(self.paths.data_dir),
            "paused": self.paused, "listeners": self.listeners(),
            "connections": self.connections(), "files": self.files(),
            "exporters": self.export_status(),
            "budget": None if budget is None else {
                "factor": budget.factor, "over_budget": budget.over_budget,
                "rendering": budget.rendering, "interactive": budget.interactive,
                "reason": budget.reason},
            "received": {k: int(v) for k, v in received.items()},
            "trace_store": store,
            "collections": m.collections,
            "health": m.health.overall_status.label if m.health is not None else None,
            "alerts": {"enabled": alerts is not None, "firing": len(firing),
                       "actions": {} if alerts is None else {
                           name: {"state": st.state.value, "detail": st.detail}
                           for name, st in alerts.action_status().items()}},
            "rules": self._rules_status(),
            "jobs": {name: s.as_json() for name, s in self.scheduler.stats().items()},
        }

    def _rules_status(self) -> dict[str, object] | None:
        last = self._last_reload
        if last is None:
            return None
        # ``state`` as the exporters and alert actions show theirs: a failed reload (the
        # old rules still run) is a Warning.
        state = HealthStatus.HEALTHY if last.ok else HealthStatus.WARNING
        return {"state": state.label, "last_reload": _iso(last.at), "trigger": last.trigger,
                "ok": last.ok, "error": last.error, "rules": last.rules,
                "files": list(last.files)}

    def health_data(self) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/health``: the latest results and the transitions."""
        health = self.manager.health
        if health is None:
            return {"enabled": False}
        return {"enabled": True, "current": report_to_json(health.report()),
                "transitions": [
                    {"when": _iso(t.when), "component": t.component, "old": t.old.label,
                     "new": t.new.label, "message": t.message, "seq": t.seq}
                    for t in health.transitions()]}

    def diagnose_data(self) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/diagnose``: each configured upstream tried once
        (DNS, connect, TLS; nothing sent; at most 5 s), each exporter's status with its last
        error, the alert actions' status and the OTLP receiver's counts."""
        from .diagnose import probe_all, upstream_targets

        targets, notes = upstream_targets(self.config)
        started = self._clock()
        probes = probe_all(targets)
        st = self.status()
        receiver = self.manager.receiver
        return {"at": _iso(started), "probes": probes, "not_tried": notes,
                "exporters": st["exporters"], "alert_actions": st["alerts"],
                "receiver": None if receiver is None else {
                    "endpoint": receiver.endpoint if receiver.server.running else None,
                    "received": st["received"], "trace_store": {
                        "traces": len(receiver.trace_store),
                        "spans": receiver.trace_store.span_count}}}

    def threads_data(self) -> list[dict[str, object]]:
        """The ``data`` of ``GET /api/v1/threads``: every thread with its innermost frames
        (no local variables)."""
        from .diagnose import thread_dump

        return thread_dump()

    # -- internals ----------------------------------------------------------------------
    def _serve_api(self) -> None:
        """Add the API to the Prometheus listener, else to the OTLP receiver's."""
        server = next(iter(self._http_servers().values()), None)
        if server is None:
            return
        alerts = self.manager.alerts
        empty_alerts: dict[str, object] = {"alerts": []}
        empty_rules: dict[str, object] = {"groups": []}
        producers: dict[str, Callable[[], object]] = {
            "/api/v1/status": self.status,
            "/api/v1/health": self.health_data,
            "/api/v1/alerts": (alerts.prometheus_alerts if alerts is not None
                               else lambda: empty_alerts),
            "/api/v1/rules": (alerts.prometheus_rules if alerts is not None
                              else lambda: empty_rules),
            DIAGNOSE_PATH: self.diagnose_data,
            THREADS_PATH: self.threads_data,
        }
        for path, handler in api_routes(producers).items():
            server.add_route(path, handler, methods=("GET", "HEAD"))
        from timeline_telemetry.ingest.trace_files import EXPORT_LIMIT_MAX

        server.add_route(TOP_PROCESSES_PATH, since_route(self.top_processes_data),
                         methods=("GET", "HEAD"))
        server.add_route(TRACES_PATH, traces_route(self.traces_data, max_limit=EXPORT_LIMIT_MAX),
                         methods=("GET", "HEAD"))
        if alerts is not None:
            server.add_route(RELOAD_PATH, reload_route(lambda: self.reload(trigger="api").error),
                             methods=("POST",))
        self.api_url = server.url("/api/v1")

    def _schedule(self) -> None:
        m = self.manager
        cfg = self.config
        if not (cfg.enabled and cfg.metrics.enabled):
            return
        self.scheduler.add(Job("collect", cfg.metrics.collection_interval, self._collect,
                               run_at_start=False))
        # Each collection ticks the clock watch first; this job does it while they are held.
        self.scheduler.add(Job("clock", cfg.metrics.collection_interval, self._check_clock,
                               pausable=False, only_while_paused=True))
        health = m.health
        if health is not None:
            self.scheduler.add(Job("health", cfg.health.check_interval, self._health_round))
            self._unsubscribe.append(health.subscribe(self._on_transition))
        else:  # no health rounds: removed files are still noticed and recreated
            self.scheduler.add(Job("files", cfg.health.check_interval, self._keep_files,
                                   pausable=False, run_at_start=False))
        alerts = m.alerts
        if alerts is not None:
            self.scheduler.add(Job("alerts", alerts.interval_s, self._evaluate_alerts))
        if alerts is not None or self._config_files():  # also watches the config file
            self.scheduler.add(Job("rules", RULES_WATCH_S, self._watch_rules, pausable=False,
                                   run_at_start=False))
        self.scheduler.add(Job("exporters", EXPORTER_WATCH_S, self._watch_exporters,
                               pausable=False))
        logs = m.logs
        if logs is not None and logs.periodic:
            # The editor's log files followed and the OTLP log exporters fed: ingest, like
            # the receiver, so not held by a pause.
            self.scheduler.add(Job("logs", logs.interval_s, logs.tick, pausable=False,
                                   run_at_start=False))
        self.scheduler.add(Job("top-processes", self.top_processes.interval_s,
                               self._sample_top_processes))

    def _sample_top_processes(self) -> None:
        self.top_processes.sample()

    def _check_clock(self) -> None:
        for ev in self.clock_watch.tick():
            self._on_clock(ev)

    def _on_clock(self, ev: ClockEvent) -> None:
        """A step or suspend (the watch logged it): the history holds retention while a
        step is in effect (its stamps come from the corrected clock already), pending
        ``for`` timers restart and the self-budget starts a new warm-up."""
        m = self.manager
        if m.history is not None:
            m.history.hold_maintenance(ev.offset_s != 0.0)
        if m.alerts is not None:
            m.alerts.restart_pending()
        if m.budget is not None:
            m.budget.restart_warmup()
        self.events.publish(ClockChanged(ev.kind, ev.at, ev.offset_s, ev.step_s, ev.gap_s))

    def _collect(self) -> None:
        self._check_clock()
        # Before the collection (the figures are the jobs' last runs either way): its
        # snapshot then holds them, and nothing is written again until the next one.
        self._record_job_metrics()
        snap = self.manager.collect_once()
        self._apply_budget()
        self.events.publish(SnapshotCollected(snap))
        if self._health_changed.is_set() and "alerts" in self.scheduler.jobs:
            # The collection just stored the new health gauges: rules over them see it now.
            self._health_changed.clear()
            self.scheduler.wake("alerts")

    def _health_round(self) -> None:
        health = self.manager.health
        if health is not None:
            report: HealthReport = health.check_all(force=True)
            self.events.publish(HealthRound(report))
            # Only what this round's check reported: a file removed after the check ran is
            # recreated next round, so the Warning is always seen first.
            seen = report.results.get("history") if self._files_checked else None
            if seen is not None:
                replaced = seen.metadata.get("replaced", ())
                self._keep_files(only=frozenset(str(x) for x in replaced)
                                 if isinstance(replaced, (list, tuple)) else frozenset())
                return
        self._keep_files()

    def _open_files(self) -> list[OpenFile]:
        out: list[OpenFile] = []
        hist = self.manager.history
        if hist is not None:
            out.append(OpenFile("history", hist.path, hist.file_identity))
        store = self.manager.alerts.store if self.manager.alerts is not None else None
        if store is not None:
            out.append(OpenFile("alert store", store.path, store.file_identity))
        return out

    def _add_files_check(self) -> None:
        """The ``history`` check: Warning while a store's path no longer names its open
        file (the round that sees it is followed by :meth:`_keep_files`)."""
        health = self.manager.health
        if health is not None and self.manager.history is not None:
            try:
                health.add_check(OpenFilesHealthCheck(self._open_files, name="history"))
                self._files_checked = True
            except ValueError as exc:  # a configured check took the name
                _log.warning("no file check for the history: %s", exc)

    def _keep_files(self, only: frozenset[str] | None = None) -> None:
        """After each health round: reopen a store whose file was removed (or replaced)
        under the running agent (``only``: the labels the round's check reported; None: any),
        and recreate ``agent.json`` and ``agent.lock`` when the data folder went
        (``rm -rf``), so the CLI still finds this agent."""
        hist = self.manager.history
        if hist is not None and (only is None or "history" in only):
            try:
                hist.reopen_if_replaced()
            except Exception:
                _log.exception("could not reopen the history at %s", hist.path)
        store = self.manager.alerts.store if self.manager.alerts is not None else None
        if store is not None and (only is None or "alert store" in only):
            try:
                store.reopen_if_replaced()
            except Exception:
                _log.exception("could not reopen the alert store at %s", store.path)
        if not self._published or state_file(self.paths.data_dir).exists():
            return
        _log.warning("%s was removed while the agent ran (data folder %s); writing it and "
                     "taking agent.lock again", state_file(self.paths.data_dir).name,
                     self.paths.data_dir)
        try:
            fresh = InstanceLock(self.paths.data_dir)
            fresh.acquire()  # a new agent.lock: the old lock is on a removed file
            old, self._instance = self._instance, fresh
            old.release()
            fresh.publish(self.info())
        except Exception:
            _log.exception("could not recreate agent.json in %s", self.paths.data_dir)

    def _on_transition(self, tr: HealthTransition) -> None:
        worse = tr.new.severity > tr.old.severity
        (_log.warning if worse and tr.new.severity >= 2 else _log.info)(
            "health: %s %s -> %s: %s", tr.component, tr.old.label, tr.new.label, tr.message)
        self.events.publish(HealthChanged(tr))
        self._health_changed.set()  # the next collection wakes the evaluator

    def _evaluate_alerts(self) -> None:
        alerts = self.manager.alerts
        if alerts is not None:
            self._check_clock()
            alerts.evaluate()

    def _watch_exporters(self) -> None:
        """Log an exporter's failure once, and its recovery once (both modes)."""
        now = self._clock()
        for name, new in self.manager.get_export_status().items():
            old = self._export_seen.get(name)
            self._export_seen[name] = new
            if new.state is not ExportState.HEALTHY and new.detail:
                self._last_errors[name] = (now, new.detail)
            if old is None:
                if new.state is ExportState.FAILED:
                    _log.warning("exporter %s is failing: %s", name, new.detail)
                else:
                    continue
            elif old == new:
                continue
            elif new.state is ExportState.HEALTHY:
                _log.info("exporter %s recovered (was %s)", name, old)
            elif new.state is ExportState.FAILED:
                _log.warning("exporter %s is failing: %s", name, new.detail)
            elif old.state is ExportState.HEALTHY:
                _log.info("exporter %s is degraded: %s", name, new.detail)
            self.events.publish(ExporterChanged(name, old, new))

    def _watch_rules(self) -> None:
        """Reload when asked (:meth:`request_reload`) or when a rule file or the config file
        changed (its mtime, size or inode; an editor that saves by rename changes the
        inode)."""
        trigger, self._reload_wanted = self._reload_wanted, None
        if trigger is None and _fingerprints(rule_files(self._alerts_cfg)) != self._rules_seen:
            trigger = "file change"
        if trigger is None and _fingerprints(self._config_files()) != self._config_seen:
            trigger = "config change"
        if trigger is not None:
            self.reload(trigger=trigger)

    def _reload(self, trigger: str) -> RulesReloaded:
        alerts = self.manager.alerts
        if alerts is None and trigger == "config change":
            return self._reread_config(trigger)
        if alerts is None:
            return RulesReloaded(False, self._clock(), trigger, 0, (),
                                 "alerting is off (telemetry.alerts.enabled and "
                                 "metrics.history.enabled): no rules to reload")
        acfg = self._alerts_cfg
        try:
            if self._config_source is not None:
                # Seen before reading, as the rule files below.
                self._config_seen = _fingerprints(self._config_files())
                config = self._config_source()
                acfg = config.alerts
                self._note_restart_changes(config)
            # Seen before reading: a write landing during the read is caught next time.
            self._rules_seen = _fingerprints(rule_files(acfg))
            rules = build_rule_set(acfg)
            if _live_settings(acfg) != _live_settings(self._alerts_cfg):
                self.manager.reload_alert_actions(acfg, self._alerts_cfg)
                if ("alerts" in self.scheduler.jobs
                        and acfg.evaluation_interval != self._alerts_cfg.evaluation_interval):
                    self.scheduler.set_interval("alerts", acfg.evaluation_interval)
                _log.info("reload (%s): alert actions and settings applied (%s)", trigger,
                          ", ".join(_changed_keys(self._alerts_cfg, acfg,
                                                  "telemetry.alerts")))
        except (RuleFileError, ConfigError, PromQLError, ValueError) as exc:
            error = str(exc)
            result = RulesReloaded(False, self._clock(), trigger, self._rule_count(),
                                   tuple(str(p) for p in rule_files(self._alerts_cfg)), error)
            if trigger == "config change":
                _log.error("config changed but cannot be used, keeping the running config "
                           "and its %d rules: %s", result.rules, "; ".join(error.splitlines()))
            else:
                _log.warning("rule reload (%s) failed, keeping the %d old rules: %s", trigger,
                             result.rules, "; ".join(error.splitlines()))
        else:
            alerts.reload_rules(rules.groups, policies=rules.policies,
                                resolve_exprs=rules.resolve_exprs)
            self._alerts_cfg = acfg
            result = RulesReloaded(True, self._clock(), trigger, rules.rule_count,
                                   tuple(str(p) for p in rules.files))
            if trigger == "config change":
                _log.info("config changed: alerting applied (%d rules from %s)", result.rules,
                          ", ".join(result.files) or "nowhere")
            else:
                _log.info("rules reloaded (%s): %d rules from %s", trigger, result.rules,
                          ", ".join(result.files) or "nowhere")
        self._last_reload = result
        self.events.publish(result)
        return result

    def _config_files(self) -> list[Path]:
        """The config file to watch: only with a ``config_source`` to re-read it and a
        config that came from a file (``source`` may add notes: ``path (from $X) + env``)."""
        if self._config_source is None:
            return []
        source = self.config.source
        for candidate in (source, source.split(" (", 1)[0], source.split(" + ", 1)[0]):
            if candidate and Path(candidate).is_file():
                return [Path(candidate)]
        return []

    def _reread_config(self, trigger: str) -> RulesReloaded:
        """A changed config file with alerting off: nothing applies live; say what takes
        effect at restart, or report a broken file (kept for ``/api/v1/status``)."""
        assert self._config_source is not None
        self._config_seen = _fingerprints(self._config_files())
        try:
            config = self._config_source()
        except (ConfigError, ValueError) as exc:
            error = str(exc)
            result = RulesReloaded(False, self._clock(), trigger, 0, (), error)
            _log.error("config changed but cannot be used, keeping the running config: %s",
                       "; ".join(error.splitlines()))
            self._last_reload = result
            self.events.publish(result)
            return result
        self._note_restart_changes(config, alerts_live=False)
        result = RulesReloaded(True, self._clock(), trigger, 0, ())
        self._last_reload = None  # no rules to report on; a former error is gone
        self.events.publish(result)
        return result

    def _note_restart_changes(self, config: TelemetryConfig, *, alerts_live: bool = True) -> None:
        """Log once, naming them, the changes a reload cannot apply (all but
        ``LIVE_ALERT_FIELDS`` of ``telemetry.alerts`` while alerting runs)."""
        pending = config if not alerts_live else replace(config, alerts=replace(
            config.alerts, **{f: getattr(self.config.alerts, f) for f in LIVE_ALERT_FIELDS}))
        if pending in (self.config, self._restart_noted):
            return
        self._restart_noted = pending
        _log.warning("config changed: %s takes effect at restart (%s)%s",
                     ", ".join(_changed_keys(self.config, pending)), config.source,
                     "; telemetry.alerts (but for enabled and history_path) is applied "
                     "live" if alerts_live else "")

    def _rule_count(self) -> int:
        alerts = self.manager.alerts
        if alerts is None:
            return 0
        groups = alerts.prometheus_rules()["groups"]
        assert isinstance(groups, list)
        return sum(len(g["rules"]) for g in groups if g.get("file") != "<api>")

    def _apply_budget(self) -> None:
        """The self-budget's back-off thins the costly collectors inside the collection
        (the manager does that) and, here, the health rounds (ffmpeg probes, HTTP checks):
        every N-th interval while the factor is N. Alert evaluation keeps its pace."""
        budget = self.manager.budget
        if budget is None or "health" not in self.scheduler.jobs:
            return
        factor = budget.decision.factor
        if factor != self._health_factor:
            self._health_factor = factor
            self.scheduler.set_interval("health", self.config.health.check_interval * factor)

    def _record_job_metrics(self) -> None:
        figures = self.scheduler.tick_figures()
        metrics = self.manager.metrics
        metrics.replace_series("telemetry_job_duration_seconds", MetricKind.GAUGE,
                               [((("job", n),), took) for n, took, _ in figures])
        skipped: list[tuple[Labels, float]] = [((("job", n),), float(k)) for n, _, k in figures]
        if skipped != self._skipped_seen:  # almost always the same: no write then
            metrics.replace_series("telemetry_job_skipped_ticks_total", MetricKind.COUNTER,
                                   skipped)
            self._skipped_seen = skipped

    def _log_where(self) -> None:
        for exp in self.manager.exporters:
            where = getattr(exp, "describe", None)
            if callable(where):
                _log.info("%s", where())
        alerts = self.manager.alerts
        if alerts is not None:
            rules = alerts.prometheus_rules()["groups"]
            assert isinstance(rules, list)
            files = sorted({str(g["file"]) for g in rules})
            n = sum(len(g["rules"]) for g in rules)
            firing = sorted({a.name for a in alerts.firing()})
            _log.info("alerting: %d rules from %s, evaluated every %gs%s", n,
                      ", ".join(files) or "nowhere", alerts.interval_s,
                      f"; firing now: {', '.join(firing)}"
                      if firing else "")
        if self.api_url is not None:
            _log.info("local API on %s (status, alerts, rules, health, traces, top "
                      "processes)",
                      self.api_url)
        _log.info("running as %s (pid %d); state in %s", self.mode, os.getpid(),
                  self.paths.data_dir / "agent.json")


def _fingerprints(paths: Sequence[Path]) -> dict[str, tuple[int, int, int] | None]:
    """Each file's (mtime in ns, size, inode); None for one that cannot be read."""
    out: dict[str, tuple[int, int, int] | None] = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out[str(p)] = None
        else:
            out[str(p)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def _live_settings(cfg: AlertsConfig) -> tuple[object, ...]:
    """The ``telemetry.alerts`` fields :meth:`AlertManager.reload_actions` applies."""
    return tuple(getattr(cfg, f) for f in LIVE_ALERT_FIELDS if f not in ("rule_files", "rules"))


def _changed_keys(old: object, new: object, prefix: str = "telemetry") -> list[str]:
    """The keys that differ, one level into each section (``telemetry.metrics.collection_
    interval``); a section whose fields are not dataclass fields is named whole."""
    if not (is_dataclass(old) and is_dataclass(new)) or type(old) is not type(new):
        return [prefix]
    out: list[str] = []
    for f in fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.compare and a != b:
            key = f"{prefix}.{f.name}"
            out.extend(_changed_keys(a, b, key) if prefix == "telemetry" else [key])
    return out or [prefix]


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds")

"""TelemetryManager: the pipeline built from a config, with no schedule of its own.

One collection = every collector once -> samples into :class:`Metrics` -> one snapshot ->
history (appended and committed, so a crash loses at most this interval) -> push exporters.
The Prometheus exporter is pull: it reads a fresh snapshot at scrape time.

*When* things run (collections, health rounds, alert evaluations, the exporter watch) is the
runtime's business (:mod:`timeline_telemetry.runtime`), the same for the tray and headless;
the manager only builds, runs one step when asked, and shuts down.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from .alerts import AlertManager, build_alert_manager
from .alerts.actions.base import Notifier
from .alerts.build import build_action_settings
from .budget import SelfBudget
from .collectors.base import Collector, Sample
from .collectors.editor import EditorProcessCollector
from .collectors.gpu import NvidiaGpuCollector
from .collectors.registry import build_collectors
from .config.durations import format_duration
from .config.schema import (
    AlertsConfig,
    ConsoleExporterConfig,
    FileExporterConfig,
    PrometheusExporterConfig,
    RemoteWriteExporterConfig,
    TelemetryConfig,
)
from .export.base import ExportResult, ExportStatus, MetricsExporter
from .export.prometheus import PrometheusExporter
from .health import (
    HealthCheckManager,
    build_health_checks,
    health_routes,
    record_health_metrics,
)
from .history import HistoryStore
from .ingest import OtlpReceiver, build_ingest
from .logs import AgentLogs
from .metrics import DEFAULT_CATALOG, Labels, MetricKind, Metrics, Snapshot
from .metrics.disabled import DisabledMetrics
from .net.http_server import HttpBounds
from .paths import AppPaths
from .tracing import Tracer, build_tracer

__all__ = ["TelemetryManager"]

_log = logging.getLogger(__name__)

#: A collector whose last run took this long is "costly": the self-budget thins it first.
COSTLY_S = 0.002
#: Failed runs in a row after which a collector's series are removed. A failed run keeps the
#: last values (a transient glitch should not blank plots or resolve alerts); a source that
#: stays broken (driver unloaded, process gone) must not show frozen values forever.
STALE_AFTER_FAILURES = 3
#: How long a replaced or removed alert action may deliver what it holds on a reload.
ACTION_DRAIN_S = 2.0
#: 0/1 gauges the editor pushes (over OTLP) while it renders or exports.
RENDER_STATE_METRICS = ("editor_render_active", "editor_export_active")


class TelemetryManager:
    """Owns the Metrics API, the collectors, the history and the exporters.

    ``collectors`` / ``exporters`` override what the config would build (tests, embedding).
    Thread-safety: ``metrics`` may be used from any thread; ``collect_once`` is serialised.
    """

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        paths: AppPaths | None = None,
        collectors: Sequence[Collector] | None = None,
        exporters: Sequence[MetricsExporter] | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.paths = paths or AppPaths.resolve()
        self._clock = clock
        self._collectors_override = collectors
        self._exporters_override = exporters
        self._metrics_on = config.enabled and config.metrics.enabled
        agg = config.metrics.aggregation
        self.metrics: Metrics = (
            Metrics(
                histogram_buckets=agg.histogram_buckets,
                summary_quantiles=agg.summary_quantiles,
                max_series_per_metric=config.ingest.limits.max_series_per_metric,
                clock=clock,
            )
            if self._metrics_on
            else DisabledMetrics(clock=clock)
        )
        self.collectors: list[Collector] = []
        self.exporters: list[MetricsExporter] = []
        self.history: HistoryStore | None = None
        self.health: HealthCheckManager | None = None
        self.tracer: Tracer | None = None
        self.receiver: OtlpReceiver | None = None
        self.logs: AgentLogs | None = None
        self.alerts: AlertManager | None = None
        self._notifier = notifier
        bcfg = config.budget
        #: Set by the tray while its dashboard is open: the self-budget does not count then.
        self.interactive = False
        self.budget: SelfBudget | None = (
            SelfBudget(
                cpu_percent=bcfg.cpu_percent,
                rss_bytes=bcfg.rss_mb * 1e6,
                max_backoff=bcfg.max_backoff,
                render_backoff=bcfg.render_backoff,
            )
            if bcfg.enabled
            else None
        )
        self._collector_cost: dict[str, float] = {}
        # Per collector: the families it owns (declared, plus any it ever reported), all
        # replaced on every successful run; and its failed runs in a row.
        self._owned_families: dict[str, set[str]] = {}
        self._failures_in_row: dict[str, int] = {}
        self._collect_lock = threading.Lock()
        self._collected = threading.Condition()
        self._initialized = False
        self._last_snapshot: Snapshot | None = None
        self._collections = 0

    # -- lifecycle --------------------------------------------------------------------
    def initialize(self) -> None:
        """Open the history, start exporters (binding ports), the tracer, the receiver and
        the alert actions; build the collectors and the health checks. Runs nothing
        periodic (the runtime does).

        Raises what an exporter raises on start (e.g. ``PortInUseError``) after undoing
        what was already started, so a failed start leaves nothing running.
        """
        if self._initialized:
            return
        self._initialized = True
        if not self._metrics_on:
            _log.info("telemetry is disabled (enabled: false); nothing is collected or served")
            return
        try:
            self._open_history()
            self.exporters = list(
                self._exporters_override
                if self._exporters_override is not None
                else self._build_exporters()
            )
            for exp in self.exporters:
                exp.start()
            self._start_otel()
            self.collectors = list(
                self._collectors_override
                if self._collectors_override is not None
                else self._build_collectors()
            )
            self._wire_gpu()
            self._build_health()
            self._start_alerts()
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self, *, timeout_s: float = 5.0, final_collection: bool = False) -> None:
        """Flush and close everything; with ``final_collection`` collect once more first
        (the runtime asks for it after its jobs stopped). Idempotent."""
        deadline = time.monotonic() + timeout_s
        # The receiver first (no new spans), then the tracer (flushes them upstream).
        if self.receiver is not None:
            self.receiver.shutdown(max(0.1, deadline - time.monotonic()))
            self.receiver = None
        if self.tracer is not None:
            self.tracer.shutdown(timeout_s=max(0.1, deadline - time.monotonic()))
            self.tracer = None
        if self.logs is not None:
            self.logs.shutdown(timeout_s=max(0.1, deadline - time.monotonic()))
            self.logs = None
        if self.alerts is not None:
            try:
                self.alerts.stop(timeout_s=max(0.1, deadline - time.monotonic()))
            except Exception:
                _log.exception("alerting failed to stop")
            self.alerts = None
        if self.health is not None:
            self.health.stop(timeout_s=max(0.1, deadline - time.monotonic()))
        if final_collection and self._initialized and self._metrics_on:
            try:
                self.collect_once()
            except Exception:
                _log.exception("final collection failed")
        self.health = None
        for exp in self.exporters:
            try:
                exp.shutdown(timeout_s=max(0.1, deadline - time.monotonic()))
            except Exception:
                _log.exception("exporter %s failed to shut down", exp.name)
        self.exporters = []
        for col in self.collectors:
            try:
                col.close()
            except Exception:
                _log.exception("collector %s failed to close", col.name)
        self.collectors = []
        if self.history is not None:
            try:
                self.history.close()
            except Exception:
                _log.exception("history failed to close")
            self.history = None

    def __enter__(self) -> TelemetryManager:
        self.initialize()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # -- the collection -----------------------------------------------------------------
    def collect_once(self) -> Snapshot:
        """Run every collector, then record, store and export one snapshot."""
        with self._collect_lock:
            factor = self.budget.decision.factor if self.budget is not None else 1
            for col in self.collectors:
                if factor > 1 and self._collections % factor and self._is_costly(col):
                    continue  # backing off: a costly collector runs every factor-th time
                self._run_collector(col)
            self._record_self_metrics()
            self._update_budget()
            snap = self.metrics.snapshot()
            if self.history is not None:
                try:
                    self.history.append(snap.timestamp, snap.flat_samples())
                    self.history.flush()
                except Exception as exc:
                    self.metrics.increment_counter("telemetry_history_write_errors_total")
                    _log.warning("history write failed: %s", exc)
            for exp in self.exporters:
                try:
                    result = exp.export(snap)
                except Exception as exc:
                    _log.warning("exporter %s raised: %s", exp.name, exc)
                    result = ExportResult.FAILURE
                if result is ExportResult.FAILURE:
                    self.metrics.increment_counter(
                        "telemetry_export_errors_total", 1, {"exporter": exp.name}
                    )
            self._last_snapshot = snap
            with self._collected:
                self._collections += 1
                self._collected.notify_all()
            return snap

    def get_export_status(self) -> dict[str, ExportStatus]:
        """Each exporter's status, by exporter name (the design document's ``get_export_status``):
        metric exporters, trace exporters and the OTLP receiver."""
        status = {exp.name: exp.status() for exp in self.exporters}
        if self.tracer is not None:
            status.update(self.tracer.get_export_status())
        if self.receiver is not None:
            status["otlp-receiver"] = self.receiver.status()
        return status

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The snapshot of the latest collection, if any."""
        return self._last_snapshot

    @property
    def collections(self) -> int:
        """How many collections ran."""
        return self._collections

    def wait_for_collections(self, n: int, timeout_s: float) -> bool:
        """Block until ``n`` collections ran (for tools and tests); False on timeout."""
        with self._collected:
            return self._collected.wait_for(lambda: self._collections >= n, timeout_s)

    # -- internals ----------------------------------------------------------------------
    def _run_collector(self, col: Collector) -> None:
        start = time.perf_counter()
        try:
            samples = col.collect()
        except Exception as exc:
            self.metrics.increment_counter(
                "telemetry_collector_errors_total", 1, {"collector": col.name}
            )
            _log.warning("collector %s failed: %s", col.name, exc, exc_info=_log.isEnabledFor(10))
            failures = self._failures_in_row.get(col.name, 0) + 1
            self._failures_in_row[col.name] = failures
            if failures == STALE_AFTER_FAILURES:
                _log.warning(
                    "collector %s failed %d times in a row: its series are removed until it "
                    "reads again", col.name, failures,
                )
                self._apply((), col)
            return
        finally:
            took = time.perf_counter() - start
            self._collector_cost[col.name] = took
            self.metrics.set_gauge(
                "telemetry_collector_duration_seconds", took, {"collector": col.name}
            )
        self._failures_in_row[col.name] = 0
        self._apply(samples, col)

    def _apply(self, samples: Sequence[Sample], col: Collector) -> None:
        """Make ``samples`` the complete state of every family ``col`` owns: a family it
        declares (``families``) or ever reported but has no sample for now loses its series."""
        owned = self._owned_families.setdefault(col.name, set(getattr(col, "families", ())))
        grouped: dict[str, list[tuple[Labels, float]]] = {name: [] for name in owned}
        for s in samples:
            grouped.setdefault(s.name, []).append((s.labels, s.value))
        owned.update(grouped)
        for name, values in grouped.items():
            if not values and self.metrics.kind_of(name) is None:
                continue  # never recorded: nothing to clear
            spec = DEFAULT_CATALOG.get(name)
            kind = spec.kind if spec is not None else MetricKind.GAUGE
            try:
                self.metrics.replace_series(name, kind, values)
            except ValueError as exc:
                _log.warning("collector %s reported an invalid sample: %s", col.name, exc)

    def _is_costly(self, col: Collector) -> bool:
        # The agent collector measures the budget itself, so it always runs.
        return col.name != "agent" and self._collector_cost.get(col.name, 0.0) >= COSTLY_S

    def _wire_gpu(self) -> None:
        """Give the GPU collector the editor collector's view (the editor's pids) and the
        render state (for the throttle episodes of the GPU health check)."""
        editor = next((c for c in self.collectors if isinstance(c, EditorProcessCollector)),
                      None)
        for c in self.collectors:
            if isinstance(c, NvidiaGpuCollector):
                c.attach(editor_view=editor.latest_view if editor is not None else None,
                         render_active=self._rendering)

    def _rendering(self) -> bool:
        """True while the editor announces a render or export (its OTLP gauges)."""
        m = self.metrics
        return any(v > 0 for n in RENDER_STATE_METRICS for v in m.current_values(n))

    def _update_budget(self) -> None:
        """Feed the budget the agent's own cost and the editor's render state (gauges the
        editor pushes over OTLP); apply its back-off and publish it as metrics."""
        if self.budget is None:
            return
        m = self.metrics
        cpu = m.current_values("telemetry_agent_cpu_usage_percent")
        rss = m.current_values("telemetry_agent_memory_rss_bytes")
        rendering = self._rendering()
        before = self.budget.decision.factor
        d = self.budget.update(
            cpu_percent=cpu[0] if cpu else None,
            rss_bytes=rss[0] if rss else None,
            rendering=rendering,
            interactive=self.interactive,
            now=self._clock(),
        )
        if d.factor != before:
            _log.info("%s", d.reason or "sampling normally again")
            for col in self.collectors:
                scale = getattr(col, "scale_rescan", None)
                if callable(scale):
                    scale(d.factor)
        m.set_gauge("telemetry_budget_backoff_factor", d.factor)
        m.set_gauge("telemetry_budget_exceeded", 1.0 if d.over_budget else 0.0)
        m.replace_series(
            "telemetry_sampling_reduced",
            MetricKind.GAUGE,
            [
                ((("reason", "budget"),), 1.0 if d.factor > 1 and not d.rendering else 0.0),
                ((("reason", "render"),), 1.0 if d.rendering and d.factor > 1 else 0.0),
            ],
        )

    def _record_self_metrics(self) -> None:
        dropped = self.metrics.dropped_samples
        if dropped:
            self.metrics.set_counter_total("telemetry_series_dropped_total", dropped)

    def _start_otel(self) -> None:
        """The tracer (the agent's own spans and the trace exporters) and the OTLP/HTTP
        receiver the editor pushes to; received spans go out through the same exporters."""
        given = {"service_name": "service.name", "service_version": "service.version"}
        self.tracer = build_tracer(
            self.config.tracing, resource=self._resource(), metrics=self.metrics,
            resource_given=[attr for key, attr in given.items() if key in self.config.given],
        )
        for line in self.tracer.exporters.describe():
            _log.info("tracing: %s", line)
        self._start_logs()
        self.receiver = build_ingest(
            self.config,
            metrics=self.metrics,
            trace_exporters=self.tracer.exporters,
            paths=self.paths,
        )
        if self.receiver is not None and self.logs is not None and self.logs.active:
            self.receiver.log_listener = self.logs.on_otlp_logs
        if self.receiver is not None:
            self.receiver.start()
            _log.info("%s", self.receiver.describe())

    def _start_logs(self) -> None:
        """``telemetry.logs``: ECS lines in the log dir for ELK, OTLP logs exporters."""
        self.logs = AgentLogs(self.config, log_dir=self.paths.log_dir, metrics=self.metrics)
        if not self.logs.active:
            self.logs = None
            return
        self.logs.start(own_thread=False)  # its tick is the runtime's ``logs`` job
        for line in self.logs.describe():
            _log.info("logs: %s", line)

    def _resource(self) -> dict[str, str]:
        return {
            "service.name": self.config.service_name,
            "service.version": self.config.service_version,
            "host.name": socket.gethostname(),
        }

    def reload_alert_actions(self, cfg: AlertsConfig, previous: AlertsConfig) -> None:
        """Apply ``cfg``'s actions, cadence, storm, flap and render-silence settings to the
        running alert manager (a reload): actions whose config is unchanged keep their
        queue and what they heard; replaced and removed queues deliver what they hold (at
        most ``ACTION_DRAIN_S``) and stop. Raises ``ValueError`` for an unusable setting."""
        alerts = self.alerts
        if alerts is None:
            return
        running = alerts.actions
        s = build_action_settings(cfg, metrics=self.metrics, notifier=self._notifier,
                                  running=running, previous=previous)
        gone = alerts.reload_actions(s.actions, s.action_policies, interval_s=s.interval_s,
                                     storm=s.storm, flap=s.flap,
                                     render_silence=s.render_silence)
        for q in gone:
            q.shutdown(ACTION_DRAIN_S)

    def _start_alerts(self) -> None:
        """Rules over the local history (the runtime evaluates them every
        ``alerts.evaluation_interval``, and at once on a health transition). ``notifier``
        gets the desktop action's notifications."""
        acfg = self.config.alerts
        if not acfg.enabled or self.history is None:
            return
        self.alerts = build_alert_manager(
            acfg,
            metrics=self.metrics,
            history=self.history,
            data_dir=self.paths.data_dir,
            notifier=self._notifier,
            clock=self._clock,
        )
        self.alerts.start()

    def _build_health(self) -> None:
        """The health checks (the runtime runs a round every ``health.check_interval``);
        each round updates the health gauges, and ``/health`` is served next to
        ``/metrics``."""
        if not (self.config.enabled and self.config.health.enabled):
            return
        health = HealthCheckManager.from_config(self.config.health)
        for check in build_health_checks(
            self.config.health,
            data_dir=self.paths.data_dir,
            editor_config=self.config.editor,
            export_status=self.get_export_status,
            ingest_status=self.receiver.limit_hits if self.receiver is not None else None,
            # The Process check reads what the editor collector saw (one source of truth).
            editor_view=next((c.latest_view for c in self.collectors
                              if isinstance(c, EditorProcessCollector)), None),
            # The GPU throttle check reads what the GPU collector saw.
            gpu_view=next((c.latest_view for c in self.collectors
                           if isinstance(c, NvidiaGpuCollector)), None),
        ):
            health.add_check(check)
        health.add_round_listener(lambda report: record_health_metrics(self.metrics, report))
        for exp in self.exporters:
            if isinstance(exp, PrometheusExporter):
                for path, handler in health_routes(health, on_demand=False).items():
                    exp.server.add_route(path, handler)
                break
        self.health = health

    def _open_history(self) -> None:
        hcfg = self.config.metrics.history
        if not hcfg.enabled:
            return
        path = hcfg.path or (self.paths.data_dir / "history.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.history = HistoryStore(
            path, retention=self.config.metrics.retention_period, clock=self._clock
        )
        _log.info(
            "history: %s (retention %s)",
            path,
            format_duration(self.config.metrics.retention_period),
        )

    def _build_collectors(self) -> list[Collector]:
        ccfg = self.config.metrics.collectors
        editor = self.config.editor
        disk_paths = list(ccfg.disk_paths) or [
            os.path.abspath(os.sep),
            *editor.media_dirs,
            *editor.cache_dirs,
        ]
        return build_collectors(
            system=ccfg.system,
            per_cpu=ccfg.per_cpu,
            gpu=ccfg.gpu,
            disk_paths=disk_paths,
            process_names=list(editor.process_names),
            rescan_interval=ccfg.process_rescan_interval,
        )

    def _http_bounds(self) -> HttpBounds:
        """``telemetry.http`` for the HTTP listeners."""
        h = self.config.http
        return HttpBounds(
            header_timeout_s=h.header_timeout,
            min_body_rate=h.min_body_rate_bytes,
            idle_timeout_s=h.idle_timeout,
            max_connections=h.max_connections,
            reserved_connections=h.reserved_connections,
        )

    def _build_exporters(self) -> list[MetricsExporter]:
        resource = self._resource()
        start_time = self._clock()
        out: list[MetricsExporter] = []
        for ecfg in self.config.metrics.exporters:
            if isinstance(ecfg, PrometheusExporterConfig):
                out.append(
                    PrometheusExporter(
                        snapshot_source=self._scrape_snapshot,
                        host=ecfg.host,
                        port=ecfg.port,
                        path=ecfg.path,
                        enable_compression=ecfg.enable_compression,
                        http=self._http_bounds(),
                    )
                )
            elif isinstance(ecfg, FileExporterConfig):
                from .export.file import FileExporter  # protobuf: only when configured

                out.append(
                    FileExporter(
                        path=Path(ecfg.path),
                        max_bytes=ecfg.max_bytes,
                        backups=ecfg.backups,
                        resource=resource,
                        start_time=start_time,
                    )
                )
            elif isinstance(ecfg, ConsoleExporterConfig):
                from .export.console import ConsoleExporter

                out.append(ConsoleExporter())
            elif isinstance(ecfg, RemoteWriteExporterConfig):
                from .remote_write import RemoteWriteExporter, cursor_path

                # Sends from the history (opened before the exporters), so an outage or
                # a restart leaves no gap at the receiver.
                out.append(RemoteWriteExporter(
                    ecfg,
                    history_path=self.history.path if self.history is not None else None,
                    cursor_file=cursor_path(self.paths.data_dir, ecfg.url),
                    job=self.config.service_name,
                    instance=socket.gethostname(),
                    metrics=self.metrics,
                    clock=self._clock,
                ))
        return out

    def _scrape_snapshot(self) -> Snapshot:
        # A scrape sees the live instruments (pushed app metrics are current) plus the
        # collectors' latest readings; it never runs the collectors itself. Nothing written
        # since the collection's snapshot: that one (and what was rendered from it).
        return self.metrics.current_snapshot()


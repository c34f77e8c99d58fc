"""The app's heart on the UI thread: drives collections and health rounds on the pool.

``TelemetryManager.initialize(start_loop=False)`` leaves the timing to us: a QTimer ticks at
the collection interval and submits ``collect_once`` (skipped while the previous one still
runs); another submits ``health.check_all`` at the health interval. Results come back as
signals; health transitions (raised on the pool thread) are re-emitted as a signal too.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from timeline_telemetry.health import HealthReport, HealthStatus, HealthTransition
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.metrics import Snapshot
from timeline_telemetry.notifications import Notice, NotificationCentre

from .providers import AlertsView, BundleExporter
from .workers import JobRunner

__all__ = ["AppController"]

_log = logging.getLogger(__name__)


class AppController(QObject):
    """Owns the timers and the latest state; widgets only listen to its signals.

    ``alerts`` and ``bundle`` are optional providers (None = "not available" in the UI).
    """

    snapshot_ready = Signal(object)
    health_ready = Signal(object)
    transition = Signal(object)
    paused_changed = Signal(bool)
    dnd_changed = Signal(bool)
    open_item = Signal(str)
    alert_event = Signal(object)
    notice_posted = Signal()

    def __init__(
        self,
        manager: TelemetryManager,
        runner: JobRunner,
        notices: NotificationCentre,
        *,
        alerts: AlertsView | None = None,
        bundle: BundleExporter | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.manager = manager
        self.runner = runner
        self.notices = notices
        self.alerts = alerts
        self.bundle = bundle
        self.last_snapshot: Snapshot | None = None
        self.last_report: HealthReport | None = None
        self._paused = False
        self._collect_timer = QTimer(self)
        self._collect_timer.timeout.connect(self.collect_now)
        self._health_timer = QTimer(self)
        self._health_timer.timeout.connect(self.check_health_now)
        self.transition.connect(self._on_transition)
        self.alert_event.connect(self._on_alert_event)
        self._unsubscribe = None
        if manager.health is not None:
            # Called on the pool thread: only emit (Qt queues it to the UI thread).
            self._unsubscribe = manager.health.subscribe(self.transition.emit)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start ticking, with one collection and one health round right away."""
        cfg = self.manager.config
        self._collect_timer.start(max(100, int(cfg.metrics.collection_interval * 1000)))
        self._health_timer.start(max(500, int(cfg.health.check_interval * 1000)))
        self.collect_now()
        self.check_health_now()

    def stop(self, timeout_ms: int = 5000) -> None:
        """Stop the timers, let running jobs finish (bounded), shut the manager down."""
        self._collect_timer.stop()
        self._health_timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.runner.wait(timeout_ms)
        self.manager.shutdown()

    # -- state --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Collection (and health rounds) paused by the user."""
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume collection and health checks."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self._collect_timer.stop()
            self._health_timer.stop()
        else:
            self.start()
        self.paused_changed.emit(paused)

    @property
    def do_not_disturb(self) -> bool:
        """Notifications are silent while on."""
        return self.notices.do_not_disturb

    def set_do_not_disturb(self, on: bool) -> None:
        """Turn Do not disturb on or off."""
        self.notices.do_not_disturb = on
        self.dnd_changed.emit(on)

    # -- work ---------------------------------------------------------------------------
    def collect_now(self) -> None:
        """Submit one collection (skipped while one is running)."""
        self.runner.submit(self.manager.collect_once, self._on_snapshot, self._on_error,
                           tag="collect")

    def check_health_now(self) -> None:
        """Submit one forced health round (skipped while one is running)."""
        health = self.manager.health
        if health is None:
            return
        self.runner.submit(lambda: health.check_all(force=True), self._on_report,
                           self._on_error, tag="health")

    def _on_snapshot(self, snap: object) -> None:
        if isinstance(snap, Snapshot):
            self.last_snapshot = snap
            self.snapshot_ready.emit(snap)

    def _on_report(self, report: object) -> None:
        if isinstance(report, HealthReport):
            self.last_report = report
            self.health_ready.emit(report)

    def _on_error(self, exc: BaseException) -> None:
        _log.warning("background work failed: %s", exc)

    def notify_alert(self, key: str, name: str, *, firing: bool, summary: str,
                     critical: bool = False) -> None:
        """Alerting calls this (from any thread) when an alert fires or resolves."""
        self.alert_event.emit(Notice(f"{name}: {'firing' if firing else 'resolved'}", summary,
                                     f"alert:{key}", (2 if critical else 1) if firing else 0))

    def _on_alert_event(self, notice: object) -> None:
        if isinstance(notice, Notice):
            self.notices.post(notice)
            self.notice_posted.emit()

    def _on_transition(self, tr: object) -> None:
        if not isinstance(tr, HealthTransition) or tr.component == "system":
            return
        worse = tr.new.severity > tr.old.severity and tr.new in (
            HealthStatus.WARNING, HealthStatus.UNHEALTHY)
        recovered = tr.new is HealthStatus.HEALTHY and tr.old in (
            HealthStatus.WARNING, HealthStatus.UNHEALTHY)
        if not (worse or recovered):
            return
        title = f"{tr.component}: {'recovered' if recovered else tr.new.label}"
        severity = 0 if recovered else (2 if tr.new is HealthStatus.UNHEALTHY else 1)
        self.notices.post(Notice(title, tr.message, f"health:{tr.component}", severity))
        self.notice_posted.emit()

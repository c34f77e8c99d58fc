"""The app's heart on the UI thread: the core runtime's events as Qt signals.

The core (:class:`~timeline_telemetry.runtime.AgentRuntime`) owns every schedule, the same as
headless; this controller only subscribes to its events (raised on worker threads, re-emitted
here through a queued signal so they arrive on the GUI thread) and calls pause / resume /
"now" on it. The widgets listen to the controller's signals.

While nothing on screen follows each collection (the dashboard closed, no value in the tray
icon), a collection reaches the GUI thread at most every few seconds (the tooltip's pace):
waking that thread once a second was a good part of the closed tray's own cost.
"""

from __future__ import annotations

import logging
import math
import time

from PySide6.QtCore import QObject, Signal

from timeline_telemetry.health import HealthReport, HealthStatus, HealthTransition
from timeline_telemetry.metrics import Snapshot
from timeline_telemetry.notifications import Notice, NotificationCentre
from timeline_telemetry.runtime import (
    AgentRuntime,
    AlertNotice,
    ExporterChanged,
    HealthChanged,
    HealthRound,
    PausedChanged,
    RulesReloaded,
    SnapshotCollected,
)

from .providers import AlertsView, BundleExporter
from .workers import JobRunner

__all__ = ["AppController"]

_log = logging.getLogger(__name__)


class AppController(QObject):
    """Holds the latest state the runtime reported; widgets only listen to its signals.

    ``alerts`` and ``bundle`` are optional providers (None = "not available" in the UI).
    ``runner`` is for the UI's own one-off background work (bundle, dashboard reads).
    """

    snapshot_ready = Signal(object)
    health_ready = Signal(object)
    transition = Signal(object)
    paused_changed = Signal(bool)
    dnd_changed = Signal(bool)
    open_item = Signal(str)
    alert_event = Signal(object)
    exporter_changed = Signal(object)
    notice_posted = Signal()
    rules_reloaded = Signal(object)
    #: The tray icon's value option changed in Settings (``off``, ``cpu``, ``gpu``, ``ram``).
    tray_value_changed = Signal(str)
    _core_event = Signal(object)

    def __init__(
        self,
        runtime: AgentRuntime,
        runner: JobRunner,
        notices: NotificationCentre,
        *,
        alerts: AlertsView | None = None,
        bundle: BundleExporter | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.manager = runtime.manager
        self.runner = runner
        self.notices = notices
        self.alerts = alerts
        self.bundle = bundle
        self.last_snapshot: Snapshot | None = None
        self.last_report: HealthReport | None = None
        #: The last rule reload (None until one finished); the tray's tooltip warns on error.
        self.last_reload: RulesReloaded | None = None
        self.transition.connect(self._on_transition)
        self.alert_event.connect(self._on_alert_event)
        self._core_event.connect(self._on_core_event)
        #: 0: every collection reaches the GUI thread; else at most one per this many s.
        self._snapshot_every_s = 0.0
        self._snapshot_sent = -math.inf  # monotonic; touched on the collecting thread only
        # Published on worker threads: only emit there (Qt queues it to the GUI thread).
        self._unsubscribe = runtime.events.subscribe(self._from_core)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Show what the runtime already has (its first collection ran in ``start``)."""
        snap = self.manager.last_snapshot
        if snap is not None:
            self._on_snapshot(snap)
        health = self.manager.health
        if health is not None and health.completed_rounds:
            self._on_report(health.report())

    def stop(self, timeout_ms: int = 5000) -> None:
        """Stop listening, stop the runtime (bounded), let the UI's own jobs finish."""
        self._unsubscribe()
        self.runtime.stop(timeout_s=timeout_ms / 1000)
        self.runner.wait(timeout_ms)

    def set_snapshot_pace(self, every_s: float) -> None:
        """0: :attr:`snapshot_ready` at every collection (the dashboard or the icon's value
        follows them); else at most every ``every_s`` seconds. :attr:`last_snapshot` is
        the latest collection either way."""
        self._snapshot_every_s = max(0.0, every_s)

    # -- state --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Collection (and health rounds) paused by the user."""
        return self.runtime.paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume collection, health checks and alert evaluation (in the core)."""
        if paused == self.paused:
            return
        if paused:
            self.runtime.pause()
        else:
            self.runtime.resume()

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
        """Ask the runtime for a collection now."""
        self.runtime.collect_now()

    def check_health_now(self) -> None:
        """Ask the runtime for a health round now."""
        self.runtime.check_health_now()

    def reload_rules(self) -> None:
        """Ask the runtime to re-read the rule files (it runs on the runtime's job; the
        outcome comes back as :attr:`rules_reloaded` and, on failure, a notification)."""
        self.runtime.request_reload("tray")

    def _on_reload(self, event: RulesReloaded) -> None:
        self.last_reload = event
        if not event.ok:
            self.notices.post(Notice("Rules not reloaded: the old rules stay",
                                     event.error or "", "rules:reload", 1))
            self.notice_posted.emit()
        elif event.trigger == "tray":
            self.notices.post(Notice("Rules reloaded",
                                     f"{event.rules} rules from {', '.join(event.files)}",
                                     "rules:reload", 0))
            self.notice_posted.emit()
        self.rules_reloaded.emit(event)

    def _from_core(self, event: object) -> None:
        """On the publishing (worker) thread: a collection the GUI does not follow now only
        becomes :attr:`last_snapshot`; everything else goes on to the GUI thread."""
        every = self._snapshot_every_s
        if every > 0 and isinstance(event, SnapshotCollected):
            now = time.monotonic()
            if now - self._snapshot_sent < every:
                self.last_snapshot = event.snapshot
                return
            self._snapshot_sent = now
        self._core_event.emit(event)

    def _on_core_event(self, event: object) -> None:
        if isinstance(event, SnapshotCollected):
            self._on_snapshot(event.snapshot)
        elif isinstance(event, HealthRound):
            self._on_report(event.report)
        elif isinstance(event, HealthChanged):
            self.transition.emit(event.transition)
        elif isinstance(event, AlertNotice):
            # The tray words the state itself ("<name>: resolved"): the prefix goes.
            name = event.title if event.firing else event.title.removeprefix("Resolved: ")
            self.notify_alert(event.key, name, firing=event.firing, summary=event.body,
                              critical=event.severity == "critical")
        elif isinstance(event, PausedChanged):
            self.paused_changed.emit(event.paused)
        elif isinstance(event, ExporterChanged):
            self.exporter_changed.emit(event)
        elif isinstance(event, RulesReloaded):
            self._on_reload(event)

    def _on_snapshot(self, snap: object) -> None:
        if isinstance(snap, Snapshot):
            self.last_snapshot = snap
            self.snapshot_ready.emit(snap)

    def _on_report(self, report: object) -> None:
        if isinstance(report, HealthReport):
            self.last_report = report
            self.health_ready.emit(report)

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

"""The tray app's entry point: checks, single instance, wiring, the event loop.

``run_tray_app`` returns the process exit code: 0 on Quit, 1 when an agent (tray or
headless) already runs for this home, 2 when there is no display (the message points at
``run --headless``) or the core cannot start (a port is taken, ...). The core is the same
:class:`~timeline_telemetry.runtime.AgentRuntime` that ``run --headless`` starts.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from timeline_telemetry.config import TelemetryConfig
from timeline_telemetry.notifications import Notice, NotificationCentre
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

from .alerts_adapter import AlertManagerView
from .controller import AppController
from .desktop import has_display, open_folder
from .executor import QtPoolExecutor
from .notifier import TrayNotifier
from .prefs import load_prefs
from .providers import AlertsView, BundleExporter
from .signal_wakeup import SignalWakeup
from .single import SingleInstance, server_name
from .tray import TOOLTIP_EVERY_S, TrayController
from .workers import JobRunner

if TYPE_CHECKING:
    from timeline_telemetry.diagnostics import BundleResult

    from .dashboard.window import DashboardWindow

#: How far back the tray's bundle reaches (the CLI's --since default).
BUNDLE_WINDOW_S = 2 * 3600.0

__all__ = ["NO_TRAY_REASON", "TrayApp", "run_tray_app"]

EXIT_OK = 0
EXIT_RUNNING = 1
EXIT_USAGE = 2
NO_TRAY_REASON = (
    "No system tray was found (no StatusNotifierItem host or XEmbed tray on this desktop), "
    "so Timeline Telemetry runs in this window; closing it stops the monitor."
)
_log = logging.getLogger(__name__)


def new_pool(parent: QObject | None = None) -> QThreadPool:
    """The app's worker pool: the runtime's jobs and the UI's background reads."""
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(4)
    return pool


class TrayApp(QObject):
    """Everything the running app owns, wired together (constructed after QApplication).

    ``runtime`` is the core, started by the caller (``run_tray_app``) before ``start()``;
    the app observes it and pauses it. ``start()`` shows the tray (or the dashboard when
    there is no tray); ``quit()`` stops the runtime cleanly and emits ``stopped``
    (``run_tray_app`` then ends the event loop with exit code 0). ``pool`` is the
    QThreadPool the runtime's executor uses, if the caller made one.
    """

    stopped = Signal()

    def __init__(
        self,
        runtime: AgentRuntime,
        paths: AppPaths,
        *,
        alerts: AlertsView | None = None,
        bundle: BundleExporter | None = None,
        tray_available: bool | None = None,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.manager = runtime.manager
        self.paths = paths
        self.pool = pool if pool is not None else new_pool(self)
        self.runner = JobRunner(self.pool, self)
        self.centre = NotificationCentre()
        self.controller = AppController(runtime, self.runner, self.centre,
                                        alerts=alerts, bundle=bundle, parent=self)
        self.tray = TrayController(self.controller, config_dir=paths.config_dir,
                                   log_dir=paths.log_dir, open_path=open_folder,
                                   tray_value=load_prefs(paths.config_dir).tray_value,
                                   parent=self)
        self.notifier = TrayNotifier(self.centre, self.tray.tray, self)
        self.notifier.snooze_requested.connect(self.snooze_alert)
        self.tray_available = (QSystemTrayIcon.isSystemTrayAvailable()
                               if tray_available is None else tray_available)
        self.dashboard: DashboardWindow | None = None
        self._stopped = False
        self.tray.open_dashboard.connect(self.show_dashboard)
        self.tray.quit_requested.connect(self.quit)
        self.tray.export_bundle.connect(self.export_bundle)
        self.notifier.clicked.connect(self.show_dashboard)
        self.controller.notice_posted.connect(self.notifier.poke)
        # After the tray's own slots: it has taken the new value or tooltip when these run.
        self.controller.tray_value_changed.connect(lambda _value: self._pace_snapshots())
        self.controller.snapshot_ready.connect(lambda _snap: self._pace_snapshots())
        self._pace_snapshots()

    def start(self) -> None:
        """Show the tray icon (or the dashboard with the reason) and what the core has."""
        if self.notifier.desktop is None and QGuiApplication.platformName() in ("xcb",
                                                                                "wayland"):
            # A desktop session: notifications with actions where its server offers them.
            from .dbus_notify import DesktopNotifications

            self.notifier.desktop = DesktopNotifications.open(self.notifier.action_invoked)
        self.controller.start()
        if self.tray_available:
            self.tray.show()
        else:
            _log.warning("no system tray found: showing the dashboard window instead "
                         "(closing it stops the monitor)")
            self.show_dashboard("", banner=NO_TRAY_REASON)

    def core_started(self) -> None:
        """The runtime has started: its alert manager exists now, so the alerts menu and
        dashboard read it (unless a view was given)."""
        if self.controller.alerts is None and self.runtime.manager.alerts is not None:
            self.controller.alerts = AlertManagerView(self.runtime.manager.alerts)
            self.tray.refresh_alerts()  # the menu said "not available" until now

    def show_dashboard(self, item: str = "", *, banner: str = "") -> None:
        """Open (first time: build, importing pyqtgraph) and raise the dashboard at ``item``."""
        if self.dashboard is None:
            from .dashboard.window import DashboardWindow

            self.dashboard = DashboardWindow(self.controller, paths=self.paths)
            self.dashboard.closed.connect(self._dashboard_closed)
            if not self.tray_available:
                self.dashboard.closed.connect(self.quit)
        if banner:
            self.dashboard.set_banner(banner)
        self.dashboard.open_item(item)
        # The self-budget is for the monitor in the background; live plots are what the
        # user asked for (budget.py).
        self.runtime.set_interactive(True)
        self.dashboard.show()
        self.dashboard.raise_()
        self.dashboard.activateWindow()
        self._pace_snapshots()

    def snooze_alert(self, key: str, seconds: float = 3600.0) -> None:
        """Snooze alert ``key`` (a notification's "Snooze 1 h"), on the pool."""
        alerts = self.controller.alerts
        if alerts is not None:
            self.runner.submit(lambda: alerts.snooze(key, seconds))

    def _dashboard_closed(self) -> None:
        self.runtime.set_interactive(False)
        self._pace_snapshots(dashboard_open=False)  # (it is still visible while closing)

    def _pace_snapshots(self, *, dashboard_open: bool | None = None) -> None:
        """Every collection to the GUI thread while the dashboard is open, the icon shows a
        value or the tooltip waits for a first figure; else the tooltip's pace (see
        ``controller``)."""
        if dashboard_open is None:
            dashboard_open = self.dashboard is not None and self.dashboard.isVisible()
        following = dashboard_open or self.tray.tray_value != "off" or self.tray.measuring
        self.controller.set_snapshot_pace(0.0 if following else TOOLTIP_EVERY_S)

    def export_bundle(self) -> None:
        """Preview what goes in (built on the pool), ask for a folder, then write the zip
        on the pool behind a progress dialog; the result is a notification."""
        bundle = self.controller.bundle
        if bundle is None:
            return

        def previewed(rows: object) -> None:
            from .bundle_dialog import confirm_bundle  # its dialogs' Qt types: on first use

            assert isinstance(rows, list)
            folder = confirm_bundle(rows)
            if folder is not None:
                self._write_bundle(bundle, folder)

        def failed(exc: BaseException) -> None:
            self.centre.post(Notice("Diagnostics bundle failed", str(exc), "bundle", 1))
            self.notifier.poke()

        self.runner.submit(bundle.preview, previewed, failed, tag="bundle-preview")

    def _write_bundle(self, bundle: BundleExporter, folder: Path) -> None:
        from .bundle_dialog import BundleProgress

        dialog = BundleProgress()

        def done(path: object) -> None:
            dialog.finish()
            self.centre.post(Notice("Diagnostics bundle written", str(path), "bundle"))
            self.notifier.poke()

        def failed(exc: BaseException) -> None:
            dialog.finish()
            self.centre.post(Notice("Diagnostics bundle failed", str(exc), "bundle", 1))
            self.notifier.poke()

        self.runner.submit(lambda: bundle.write(folder, dialog.report), done, failed,
                           tag="bundle")

    def quit(self) -> None:
        """Stop collecting, flush, hide the tray and leave the event loop (exit 0)."""
        if self._stopped:
            return
        self._stopped = True
        if self.notifier.desktop is not None:
            self.notifier.desktop.close()
            self.notifier.desktop = None
        self.tray.hide()
        if self.dashboard is not None:
            self.dashboard.close()
        self.controller.stop()
        self.stopped.emit()


class _RuntimeBundle:
    """The tray's diagnostics bundle, built from the running core (on the worker pool), with
    the CLI's default pseudonyms (home paths and the user name; not the host name)."""

    def __init__(self, runtime: AgentRuntime, config: TelemetryConfig, paths: AppPaths) -> None:
        from timeline_telemetry.redact import PseudonymPolicy

        self._runtime = runtime
        self._config = config
        self._paths = paths
        self._policy = PseudonymPolicy()  # what `timeline-telemetry bundle` uses unflagged

    def _build(self, out: Path, *, preview: bool, progress: Callable[[str, float], None] | None
               ) -> BundleResult:
        from timeline_telemetry.diagnostics import build_bundle
        from timeline_telemetry.diagnostics.live import alerts_store_path, in_process_providers

        # What `timeline-telemetry bundle` reads through the local API, read in process.
        providers = in_process_providers(
            self._runtime, alerts_store_path(self._config, self._paths.data_dir))
        return build_bundle(config=self._config, paths=self._paths, out=out,
                            since_s=BUNDLE_WINDOW_S, preview=preview, progress=progress,
                            providers=providers, pseudonymize=self._policy)

    def preview(self) -> list[tuple[str, int]]:
        result = self._build(self._paths.data_dir / "preview.zip", preview=True, progress=None)
        rows = [(e.name, e.size) for e in result.entries]
        rows += [(f"scrubbed: {kind}", n) for kind, n in sorted(result.scrubbed.items()) if n]
        return rows

    def write(self, folder: Path, progress: Callable[[str, float], None]) -> Path:
        from timeline_telemetry.diagnostics import default_bundle_name

        result = self._build(folder / default_bundle_name(hide_host=self._policy.hosts),
                             preview=False, progress=progress)
        if result.path is None:
            raise OSError("the diagnostics bundle was not written")
        return result.path


def _restore(handlers: Mapping[signal.Signals, Any]) -> None:
    for s, h in handlers.items():
        signal.signal(s, h)


def run_tray_app(
    config: TelemetryConfig,
    paths: AppPaths,
    argv: Sequence[str],
    *,
    alerts: AlertsView | None = None,
    bundle: BundleExporter | None = None,
    environ: Mapping[str, str] = os.environ,
    config_source: Callable[[], TelemetryConfig] | None = None,
    open_page: str = "",
) -> int:
    """Run the tray app until Quit; see the module docstring for exit codes.
    ``config_source`` re-reads the config on a rule reload, as headless does; ``open_page``
    opens the dashboard at that page (or asks the running instance to)."""
    if not has_display(environ):
        print("timeline-telemetry: no display found (DISPLAY/WAYLAND_DISPLAY unset); on a "
              "server run the agent with 'timeline-telemetry run --headless'", file=sys.stderr)
        return EXIT_USAGE
    app = QApplication.instance() or QApplication(list(argv))
    assert isinstance(app, QApplication)
    app.setApplicationName("Timeline Telemetry")
    app.setQuitOnLastWindowClosed(False)
    from timeline_telemetry.runtime import AlreadyRunning, find_running

    from .startup_error import report_startup_failure

    def refuse(text: str, code: int) -> int:
        print(f"timeline-telemetry: {text}", file=sys.stderr)
        report_startup_failure(text, folder=paths.config_dir, environ=environ)
        return code

    single = SingleInstance(server_name(str(paths.data_dir)))
    if not single.claim(open_page):
        # Another tray runs here and claim() asked it to bring its dashboard forward: that
        # window is the answer, so no dialog on top of it; the line says who runs.
        print(f"timeline-telemetry: "
              f"{AlreadyRunning(paths.data_dir, find_running(paths.data_dir))}; "
              "showing its dashboard", file=sys.stderr)
        return EXIT_RUNNING
    pool = new_pool()
    runtime = AgentRuntime(config, paths, mode="tray", executor=QtPoolExecutor(pool),
                           config_source=config_source)
    # Built before the core starts, so the first health round's transitions are seen.
    tray_app = TrayApp(runtime, paths, alerts=alerts, pool=pool,
                       bundle=bundle if bundle is not None else
                       _RuntimeBundle(runtime, config, paths))
    # A stop asked while the core starts is kept and honoured once the loop runs (without
    # this, SIGTERM in that window killed the process before anything was flushed).
    asked: list[int] = []
    stops = (signal.SIGINT, signal.SIGTERM)
    first = {s: signal.signal(s, lambda signum, _f: asked.append(signum)) for s in stops}
    try:
        runtime.start()
    except AlreadyRunning as exc:
        _restore(first)
        single.release()
        return refuse(str(exc), EXIT_RUNNING)
    except OSError as exc:  # PortInUseError is an OSError too
        _restore(first)
        single.release()
        return refuse(f"cannot start: {exc}", EXIT_USAGE)
    tray_app.core_started()
    single.activated.connect(tray_app.show_dashboard)
    tray_app.stopped.connect(lambda: app.exit(EXIT_OK))

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        QTimer.singleShot(0, tray_app.quit)

    for s in stops:
        signal.signal(s, on_signal)
    old: dict[signal.Signals, Any] = dict(first)
    if asked:
        QTimer.singleShot(0, tray_app.quit)
    sighup = getattr(signal, "SIGHUP", None)  # POSIX only; reload the rules as headless does
    if sighup is not None:
        old[sighup] = signal.signal(
            sighup, lambda _s, _f: QTimer.singleShot(0, lambda: runtime.request_reload("sighup")))
    # Python runs signal handlers only between bytecodes: the loop wakes when one arrives.
    wake = SignalWakeup()
    tray_app.start()
    if open_page:
        tray_app.show_dashboard(open_page)
    try:
        code = app.exec()
    finally:
        wake.close()
        _restore(old)
        tray_app.quit()
        single.release()
    _log.info("tray app stopped (exit %d)", code)
    return int(code)

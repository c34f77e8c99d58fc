"""The tray app's entry point: checks, single instance, wiring, the event loop.

``run_tray_app`` returns the process exit code: 0 on Quit, 2 when there is no display (the
message points at ``run --headless``) or the core cannot start (a port is taken, ...).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from timeline_telemetry.config import TelemetryConfig
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.notifications import Notice, NotificationCentre
from timeline_telemetry.paths import AppPaths

from .alerts_adapter import AlertManagerView, ForwardingNotifier
from .bundle_dialog import BundleProgress, confirm_bundle
from .controller import AppController
from .notifier import TrayNotifier
from .providers import AlertsView, BundleExporter
from .single import SingleInstance, server_name
from .tray import TrayController
from .workers import JobRunner

if TYPE_CHECKING:
    from timeline_telemetry.diagnostics import BundleResult

    from .dashboard.window import DashboardWindow

#: How far back the tray's bundle reaches (the CLI's --since default).
BUNDLE_WINDOW_S = 2 * 3600.0

__all__ = ["NO_TRAY_REASON", "TrayApp", "has_display", "run_tray_app"]

EXIT_OK = 0
EXIT_USAGE = 2
NO_TRAY_REASON = (
    "No system tray was found (no StatusNotifierItem host or XEmbed tray on this desktop), "
    "so Timeline Telemetry runs in this window; closing it stops the monitor."
)
_log = logging.getLogger(__name__)


def has_display(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether a GUI can open: always on Windows/macOS; on other systems a DISPLAY, a
    WAYLAND_DISPLAY, or an explicit ``QT_QPA_PLATFORM`` (offscreen for screenshots)."""
    if platform.startswith(("win", "darwin")):
        return True
    return any(environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _open_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class TrayApp(QObject):
    """Everything the running app owns, wired together (constructed after QApplication).

    ``start()`` shows the tray (or the dashboard when there is no tray) and starts ticking;
    ``quit()`` stops cleanly and emits ``stopped`` (``run_tray_app`` then ends the event
    loop with exit code 0).
    """

    stopped = Signal()

    def __init__(
        self,
        manager: TelemetryManager,
        paths: AppPaths,
        *,
        alerts: AlertsView | None = None,
        bundle: BundleExporter | None = None,
        tray_available: bool | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.paths = paths
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(3)
        self.runner = JobRunner(self.pool, self)
        self.centre = NotificationCentre()
        self.controller = AppController(manager, self.runner, self.centre,
                                        alerts=alerts, bundle=bundle, parent=self)
        self.tray = TrayController(self.controller, config_dir=paths.config_dir,
                                   log_dir=paths.log_dir, open_path=_open_folder, parent=self)
        self.notifier = TrayNotifier(self.centre, self.tray.tray, self)
        self.tray_available = (QSystemTrayIcon.isSystemTrayAvailable()
                               if tray_available is None else tray_available)
        self.dashboard: DashboardWindow | None = None
        self._stopped = False
        self.tray.open_dashboard.connect(self.show_dashboard)
        self.tray.quit_requested.connect(self.quit)
        self.tray.export_bundle.connect(self.export_bundle)
        self.notifier.clicked.connect(self.show_dashboard)
        self.controller.notice_posted.connect(self.notifier.poke)

    def start(self) -> None:
        """Show the tray icon (or the dashboard with the reason) and start collecting."""
        self.controller.start()
        if self.tray_available:
            self.tray.show()
        else:
            self.show_dashboard("", banner=NO_TRAY_REASON)

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
        self.controller.manager.interactive = True
        self.dashboard.show()
        self.dashboard.raise_()
        self.dashboard.activateWindow()

    def _dashboard_closed(self) -> None:
        self.controller.manager.interactive = False

    def export_bundle(self) -> None:
        """Preview what goes in (built on the pool), ask for a folder, then write the zip
        on the pool behind a progress dialog; the result is a notification."""
        bundle = self.controller.bundle
        if bundle is None:
            return

        def previewed(rows: object) -> None:
            assert isinstance(rows, list)
            folder = confirm_bundle(rows)
            if folder is not None:
                self._write_bundle(bundle, folder)

        def failed(exc: BaseException) -> None:
            self.centre.post(Notice("Diagnostics bundle failed", str(exc), "bundle", 1))
            self.notifier.poke()

        self.runner.submit(bundle.preview, previewed, failed, tag="bundle-preview")

    def _write_bundle(self, bundle: BundleExporter, folder: Path) -> None:
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
        self.tray.hide()
        if self.dashboard is not None:
            self.dashboard.close()
        self.controller.stop()
        self.stopped.emit()


class _ManagerBundle:
    """The tray's diagnostics bundle, built from the running manager (on the worker pool)."""

    def __init__(self, manager: TelemetryManager, config: TelemetryConfig, paths: AppPaths) -> None:
        self._manager = manager
        self._config = config
        self._paths = paths

    def _build(self, out: Path, *, preview: bool, progress: Callable[[str, float], None] | None
               ) -> BundleResult:
        from timeline_telemetry.diagnostics import build_bundle
        from timeline_telemetry.diagnostics.live import manager_providers

        alerts = self._manager.alerts
        providers = manager_providers(
            self._manager, alerts=(alerts.to_json if alerts is not None else None)
        )
        return build_bundle(config=self._config, paths=self._paths, out=out,
                            since_s=BUNDLE_WINDOW_S, preview=preview, progress=progress,
                            providers=providers)

    def preview(self) -> list[tuple[str, int]]:
        result = self._build(self._paths.data_dir / "preview.zip", preview=True, progress=None)
        rows = [(e.name, e.size) for e in result.entries]
        rows += [(f"scrubbed: {kind}", n) for kind, n in sorted(result.scrubbed.items()) if n]
        return rows

    def write(self, folder: Path, progress: Callable[[str, float], None]) -> Path:
        from timeline_telemetry.diagnostics import default_bundle_name

        result = self._build(folder / default_bundle_name(), preview=False, progress=progress)
        if result.path is None:
            raise OSError("the diagnostics bundle was not written")
        return result.path


def run_tray_app(
    config: TelemetryConfig,
    paths: AppPaths,
    argv: Sequence[str],
    *,
    alerts: AlertsView | None = None,
    bundle: BundleExporter | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Run the tray app until Quit; see the module docstring for exit codes."""
    if not has_display(environ):
        print("timeline-telemetry: no display found (DISPLAY/WAYLAND_DISPLAY unset); on a "
              "server run the agent with 'timeline-telemetry run --headless'", file=sys.stderr)
        return EXIT_USAGE
    app = QApplication.instance() or QApplication(list(argv))
    assert isinstance(app, QApplication)
    app.setApplicationName("Timeline Telemetry")
    app.setQuitOnLastWindowClosed(False)
    single = SingleInstance(server_name(str(paths.data_dir)))
    if not single.claim():
        print("timeline-telemetry: already running; showing its dashboard", file=sys.stderr)
        return EXIT_OK
    notifier = ForwardingNotifier()
    manager = TelemetryManager(config, paths=paths, notifier=notifier)
    try:
        manager.initialize(start_loop=False)
    except OSError as exc:  # PortInUseError is an OSError too
        print(f"timeline-telemetry: cannot start: {exc}", file=sys.stderr)
        single.release()
        from .startup_error import report_startup_failure

        report_startup_failure(str(exc), folder=paths.config_dir, environ=environ)
        return EXIT_USAGE
    if alerts is None and manager.alerts is not None:
        alerts = AlertManagerView(manager.alerts)
    if bundle is None:
        bundle = _ManagerBundle(manager, config, paths)
    tray_app = TrayApp(manager, paths, alerts=alerts, bundle=bundle)
    notifier.sink = tray_app.controller.notify_alert
    single.activated.connect(lambda: tray_app.show_dashboard(""))
    tray_app.stopped.connect(lambda: app.exit(EXIT_OK))

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        QTimer.singleShot(0, tray_app.quit)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    # Python runs signal handlers only between bytecodes: wake the interpreter twice a second.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(500)
    tray_app.start()
    try:
        code = app.exec()
    finally:
        wake.stop()
        for s, h in old.items():
            signal.signal(s, h)
        tray_app.quit()
        single.release()
    _log.info("tray app stopped (exit %d)", code)
    return int(code)

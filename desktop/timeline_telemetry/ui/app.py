"""The tray app's entry point: checks, single instance, wiring, the event loop.

``run_tray_app`` returns the process exit code: 0 on Quit, 2 when there is no display (the
message points at ``run --headless``) or the core cannot start (a port is taken, ...).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QSystemTrayIcon

from timeline_telemetry.config import TelemetryConfig
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.notifications import Notice, NotificationCentre
from timeline_telemetry.paths import AppPaths

from .alerts_adapter import AlertManagerView, ForwardingNotifier
from .controller import AppController
from .notifier import TrayNotifier
from .providers import AlertsView, BundleExporter
from .single import SingleInstance, server_name
from .tray import TrayController
from .workers import JobRunner

if TYPE_CHECKING:
    from .dashboard.window import DashboardWindow

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
            if not self.tray_available:
                self.dashboard.closed.connect(self.quit)
        if banner:
            self.dashboard.set_banner(banner)
        self.dashboard.open_item(item)
        self.dashboard.show()
        self.dashboard.raise_()
        self.dashboard.activateWindow()

    def export_bundle(self) -> None:
        """Ask for a folder, then build the bundle on the pool and notify where it went."""
        bundle = self.controller.bundle
        if bundle is None:
            return
        folder = QFileDialog.getExistingDirectory(None, "Save diagnostics bundle in",
                                                  str(Path.home()))
        if not folder:
            return

        def done(path: object) -> None:
            self.centre.post(Notice("Diagnostics bundle written", str(path), "bundle"))
            self.notifier.poke()

        def failed(exc: BaseException) -> None:
            self.centre.post(Notice("Diagnostics bundle failed", str(exc), "bundle", 1))
            self.notifier.poke()

        self.runner.submit(lambda: bundle(Path(folder)), done, failed, tag="bundle")

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


def _bundle_exporter(
    manager: TelemetryManager, config: TelemetryConfig, paths: AppPaths
) -> BundleExporter:
    """The tray's "Export diagnostics bundle…": a zip in the chosen folder, built from the
    running manager (runs on the worker pool, never on the UI thread)."""

    def export(folder: Path) -> Path:
        from timeline_telemetry.diagnostics import build_bundle, default_bundle_name
        from timeline_telemetry.diagnostics.live import manager_providers

        alerts = manager.alerts
        providers = manager_providers(
            manager, alerts=(alerts.to_json if alerts is not None else None)
        )
        result = build_bundle(
            config=config, paths=paths, out=folder / default_bundle_name(), since_s=2 * 3600,
            preview=False, progress=None, providers=providers,
        )
        if result.path is None:
            raise OSError("the diagnostics bundle was not written")
        return result.path

    return export


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
        return EXIT_USAGE
    if alerts is None and manager.alerts is not None:
        alerts = AlertManagerView(manager.alerts)
    if bundle is None:
        bundle = _bundle_exporter(manager, config, paths)
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

"""The dashboard window: Overview (first), Metrics, Health, Alerts, Traces and Exporters tabs,
and Settings."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.ui.controller import AppController

from .alerts_tab import AlertsTab
from .exporters_tab import ExportersTab
from .health_tab import HealthTab
from .overview import OverviewTab
from .plots import MetricsTab
from .traces_tab import TracesTab

__all__ = ["DashboardWindow"]

TAB_NAMES = ("overview", "metrics", "health", "alerts", "traces", "exporters")


class DashboardWindow(QMainWindow):
    """The main window; ``open_item("health:disk")`` switches to a tab and selects the row.

    ``closed`` is emitted when the user closes it (the app quits on it when there is no tray).
    """

    closed = Signal()

    def __init__(self, controller: AppController, *, paths: AppPaths,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._paths = paths
        self.setWindowTitle("Timeline Telemetry")
        self.resize(1100, 760)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#fff4ce;padding:6px;border:1px solid #e0c060;")
        self.banner.hide()
        self.tabs = QTabWidget()
        self.overview_tab = OverviewTab(controller)
        self.metrics_tab = MetricsTab(controller)
        self.health_tab = HealthTab(controller)
        self.alerts_tab = AlertsTab(controller)
        self.traces_tab = TracesTab(controller)
        self.exporters_tab = ExportersTab(controller)
        for tab, label in ((self.overview_tab, "&Overview"), (self.metrics_tab, "&Metrics"),
                           (self.health_tab, "&Health"),
                           (self.alerts_tab, "&Alerts"), (self.traces_tab, "&Traces"),
                           (self.exporters_tab, "E&xporters")):
            self.tabs.addTab(tab, label)
        self.tabs.currentChanged.connect(self._on_tab)
        self.metrics_tab.trace_clicked.connect(lambda tid: self.open_item(f"trace:{tid}"))
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs)
        self.setCentralWidget(central)
        settings = QAction("Settings…", self)
        settings.triggered.connect(self.open_settings)
        self.menuBar().addAction(settings)
        self.metrics_tab.refresh(force=True)
        self.exporters_tab.refresh()
        # Alert states change at each evaluation: an open Alerts tab follows the core's
        # collections (a read on the pool, skipped while one runs).
        controller.snapshot_ready.connect(self._follow)

    def set_banner(self, text: str) -> None:
        """Show a line above the tabs (e.g. why there is no tray icon)."""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def open_item(self, item: str) -> None:
        """Go to ``item``: ``""``, ``health:<check>``, ``alert:<key>``, ``trace:<id>``, a tab."""
        kind, _, rest = item.partition(":")
        if kind in TAB_NAMES:
            self.tabs.setCurrentIndex(TAB_NAMES.index(kind))
        elif kind == "alert":
            self.tabs.setCurrentIndex(TAB_NAMES.index("alerts"))
        elif kind == "trace":
            self.tabs.setCurrentIndex(TAB_NAMES.index("traces"))
        if kind == "health" and rest:
            self.health_tab.select(rest)
        elif kind == "trace" and rest:
            self.traces_tab.open_trace(rest)

    def open_settings(self) -> None:
        """Open the settings dialog (modal)."""
        from timeline_telemetry.ui.settings import SettingsDialog

        SettingsDialog(self._paths, self._ctl.runner, parent=self,
                       on_tray_value=self._ctl.tray_value_changed.emit).exec()

    def _on_tab(self, index: int) -> None:
        name = TAB_NAMES[index] if 0 <= index < len(TAB_NAMES) else ""
        if name == "alerts":
            self.alerts_tab.refresh()
        elif name == "traces":
            self.traces_tab.refresh()
        elif name == "exporters":
            self.exporters_tab.refresh()

    def _follow(self, _event: object) -> None:
        if self.isVisible() and self.tabs.currentWidget() is self.alerts_tab:
            self.alerts_tab.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Hide, and tell the app."""
        super().closeEvent(event)
        self.closed.emit()

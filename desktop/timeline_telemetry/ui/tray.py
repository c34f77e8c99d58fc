"""The tray icon, its tooltip and its menu.

The menu's shape is fixed (so a desktop panel reading it over D-Bus sees stable ids); only
the Health and Active alerts submenus are refilled, from the latest report, and when the
menu is about to show. Actions emit signals or call the controller; nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from timeline_telemetry.health import HealthReport

from .controller import AppController
from .icons import panel_theme, state_icon
from .overview_model import TRAY_VALUES, tray_value
from .providers import AlertRow
from .summary import MEASURING, icon_state, tooltip_text

__all__ = ["TrayController"]

_SNOOZES = (("Snooze 15 min", 15 * 60.0), ("Snooze 1 h", 3600.0))
#: The tooltip's figures (CPU, memory, GPU) follow the collections at most this often; a
#: change of health, pause or rules shows at once. Each new tooltip is a D-Bus signal to the
#: panel and a property read back by it: once a second, both woke for a text nobody read.
TOOLTIP_EVERY_S = 5.0


class TrayController(QObject):
    """Builds the tray icon and menu over ``controller``.

    ``open_path`` opens a folder in the file manager (QDesktopServices in the app, a fake
    in tests). Signals: ``open_dashboard(item)`` ("" = the default tab), ``export_bundle``,
    ``quit_requested``.
    """

    open_dashboard = Signal(str)
    export_bundle = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        controller: AppController,
        *,
        config_dir: Path,
        log_dir: Path,
        open_path: Callable[[Path], None],
        tray_value: str = "off",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._open_path = open_path
        #: What the icon shows beside the health colour (:data:`TRAY_VALUES`).
        self.tray_value = tray_value if tray_value in TRAY_VALUES else "off"
        #: The (state, theme, value) the icon was last painted for: repainted (and the panel
        #: told) only when the rounded value or the state changes.
        self.icon_key: tuple[str, str, int | None] | None = None
        self.tray = QSystemTrayIcon(self)
        self.menu = QMenu()
        self._health_names: tuple[tuple[str, str], ...] = ()
        self._tip = ""
        self._tip_at = -TOOLTIP_EVERY_S  # monotonic
        #: What the tooltip last showed besides the figures: state, checks, rules.
        self._tip_key: object = None
        m = self.menu
        self.act_dashboard = m.addAction("Open dashboard")
        self.act_dashboard.triggered.connect(lambda: self.open_dashboard.emit(""))
        self.health_menu = m.addMenu("Health")
        self.alerts_menu = m.addMenu("Active alerts")
        m.addSeparator()
        self.act_pause = m.addAction("Pause collection")
        self.act_pause.setCheckable(True)
        self.act_pause.toggled.connect(controller.set_paused)
        self.act_dnd = m.addAction("Do not disturb")
        self.act_dnd.setCheckable(True)
        self.act_dnd.toggled.connect(controller.set_do_not_disturb)
        self.act_reload = m.addAction("Reload rules")
        self.act_reload.triggered.connect(controller.reload_rules)
        m.addSeparator()
        self.act_bundle = m.addAction("Export diagnostics bundle…")
        if controller.bundle is None:
            self.act_bundle.setText("Export diagnostics bundle… (not available)")
            self.act_bundle.setEnabled(False)
        self.act_bundle.triggered.connect(self.export_bundle.emit)
        self.act_config = m.addAction("Open config folder")
        self.act_config.triggered.connect(lambda: self._open_path(config_dir))
        self.act_logs = m.addAction("Open logs")
        self.act_logs.triggered.connect(lambda: self._open_path(log_dir))
        m.addSeparator()
        self.act_quit = m.addAction("Quit")
        self.act_quit.triggered.connect(self.quit_requested.emit)
        self.tray.setContextMenu(m)
        self.tray.activated.connect(self._on_activated)
        m.aboutToShow.connect(self.refresh_alerts)
        controller.health_ready.connect(self._on_state)
        controller.snapshot_ready.connect(self._on_snapshot)
        controller.paused_changed.connect(self._on_paused)
        controller.rules_reloaded.connect(self._on_state)
        controller.tray_value_changed.connect(self.set_tray_value)
        self._fill_health(None)
        self._fill_alerts(None)
        self._on_state()

    @property
    def measuring(self) -> bool:
        """The tooltip still waits for a figure's first window (the CPU's)."""
        return MEASURING in self._tip

    def show(self) -> None:
        """Show the icon in the tray."""
        self.tray.show()

    def hide(self) -> None:
        """Remove the icon (on quit)."""
        self.tray.hide()

    # -- state ------------------------------------------------------------------------
    def _on_state(self, *_args: object) -> None:
        ctl = self._ctl
        state = icon_state(ctl.last_report, paused=ctl.paused)
        self._paint_icon(state)
        report = ctl.last_report
        reload = ctl.last_reload
        key = (state, tuple((n, r.status) for n, r in report.results.items())
               if report is not None else None,
               None if reload is None else (reload.ok, reload.error))
        self._refresh_tooltip(changed=key != self._tip_key)
        self._tip_key = key
        self._fill_health(report)

    def _on_snapshot(self, *_args: object) -> None:
        """A collection: the icon's value at once, the tooltip's figures when due (the
        health state and the menu change with health rounds, not here)."""
        ctl = self._ctl
        self._paint_icon(icon_state(ctl.last_report, paused=ctl.paused))
        self._refresh_tooltip(changed=False)

    def _refresh_tooltip(self, *, changed: bool) -> None:
        """At once when the state, a check or the rules changed, or a figure was still
        being measured (the CPU's first window); else every :data:`TOOLTIP_EVERY_S`."""
        if changed or self.measuring or time.monotonic() - self._tip_at >= TOOLTIP_EVERY_S:
            self._set_tooltip()

    def _set_tooltip(self) -> None:
        ctl = self._ctl
        tip = tooltip_text(ctl.last_report, ctl.last_snapshot, paused=ctl.paused)
        reload = ctl.last_reload
        if reload is not None and not reload.ok:
            first = (reload.error or "").splitlines()[:1]
            tip += f"\nWarning: rules not reloaded ({first[0] if first else 'error'})"
        self._tip_at = time.monotonic()
        if tip != self._tip:
            self._tip = tip
            self.tray.setToolTip(tip)

    def set_tray_value(self, which: str) -> None:
        """Show ``which`` (``off``, ``cpu``, ``gpu``, ``ram``) in the icon from now on."""
        if which not in TRAY_VALUES:
            raise ValueError(f"tray value must be one of {TRAY_VALUES}, got {which!r}")
        self.tray_value = which
        self._on_state()

    def _paint_icon(self, state: str) -> None:
        theme = panel_theme()
        value = tray_value(self._ctl.last_snapshot, self.tray_value)
        key = (state, theme, None if value is None else round(value))
        if key == self.icon_key:
            return
        self.icon_key = key
        if value is None:
            self.tray.setIcon(state_icon(state))
        else:
            from .tray_icon import value_icon

            self.tray.setIcon(value_icon(state, float(round(value)), theme))

    def _on_paused(self, paused: bool) -> None:
        if self.act_pause.isChecked() != paused:
            self.act_pause.setChecked(paused)
        self._on_state()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_dashboard.emit("")

    def _fill_health(self, report: HealthReport | None) -> None:
        rows: tuple[tuple[str, str], ...] = ()
        if report is not None:
            rows = tuple((n, r.status.label) for n, r in report.results.items())
        if rows == self._health_names and self.health_menu.actions():
            return
        self._health_names = rows
        self.health_menu.clear()
        if not rows:
            self.health_menu.addAction("No results yet").setEnabled(False)
            return
        for name, label in rows:
            act = self.health_menu.addAction(f"{name}: {label}")
            act.triggered.connect(lambda _c=False, n=name: self.open_dashboard.emit(f"health:{n}"))

    # -- alerts -----------------------------------------------------------------------
    def refresh_alerts(self) -> None:
        """Fetch active alerts on the pool; the submenu is refilled when they arrive."""
        alerts = self._ctl.alerts
        if alerts is None:
            return
        self._ctl.runner.submit(alerts.list_active, self._fill_alerts, tag="alerts-menu")

    def _fill_alerts(self, rows: object) -> None:
        menu = self.alerts_menu
        menu.clear()
        if self._ctl.alerts is None:
            menu.addAction("Alerts not available").setEnabled(False)
            return
        active = [r for r in rows if isinstance(r, AlertRow)] if isinstance(rows, list) else []
        if not active:
            menu.addAction("No active alerts").setEnabled(False)
            return
        for row in active:
            sub = menu.addMenu(f"{row.name} ({row.state})")
            for text, seconds in _SNOOZES:
                act: QAction = sub.addAction(text)
                act.triggered.connect(lambda _c=False, k=row.key, s=seconds: self._snooze(k, s))
            ack = sub.addAction("Acknowledge")
            ack.triggered.connect(lambda _c=False, k=row.key: self._ack(k))

    def _snooze(self, key: str, seconds: float) -> None:
        alerts = self._ctl.alerts
        if alerts is not None:
            self._ctl.runner.submit(lambda: alerts.snooze(key, seconds))

    def _ack(self, key: str) -> None:
        alerts = self._ctl.alerts
        if alerts is not None:
            self._ctl.runner.submit(lambda: alerts.acknowledge(key))

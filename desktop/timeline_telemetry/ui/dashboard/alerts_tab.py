"""The Alerts tab: firing, pending, silenced and resolved alerts from an :class:`AlertsView`.

With no provider (alerting not wired) it says so. Provider calls run on the pool.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from timeline_telemetry.ui.controller import AppController
from timeline_telemetry.ui.providers import AlertRow

from .tables import ago, cell, list_table

__all__ = ["AlertsTab"]

NOT_AVAILABLE = "Alerting is not available in this build."


class AlertsTab(QWidget):
    """A table of alerts and Snooze 15 min / Snooze 1 h / Acknowledge buttons."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._rows: list[AlertRow] = []
        lay = QVBoxLayout(self)
        self.note = QLabel("")
        lay.addWidget(self.note)
        self.table = list_table(["Alert", "State", "Severity", "Since", "Summary"], "Alerts")
        lay.addWidget(self.table)
        buttons = QHBoxLayout()
        self.btn_15m = QPushButton("Snooze 15 min")
        self.btn_1h = QPushButton("Snooze 1 h")
        self.btn_ack = QPushButton("Acknowledge")
        for b in (self.btn_15m, self.btn_1h, self.btn_ack):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.btn_15m.clicked.connect(lambda: self._act("snooze", 900.0))
        self.btn_1h.clicked.connect(lambda: self._act("snooze", 3600.0))
        self.btn_ack.clicked.connect(lambda: self._act("ack", 0.0))
        if controller.alerts is None:
            self.note.setText(NOT_AVAILABLE)
            self.table.setEnabled(False)
            for b in (self.btn_15m, self.btn_1h, self.btn_ack):
                b.setEnabled(False)

    def refresh(self) -> None:
        """Fetch active alerts and history on the pool."""
        alerts = self._ctl.alerts
        if alerts is None:
            return
        self._ctl.runner.submit(lambda: alerts.list_active() + alerts.history(50),
                                self.show_rows, tag="alerts-tab")

    def show_rows(self, rows: object) -> None:
        """Fill the table (firing first, then pending, silenced, resolved)."""
        order = {"firing": 0, "pending": 1, "silenced": 2, "resolved": 3}
        items = [r for r in rows if isinstance(r, AlertRow)] if isinstance(rows, list) else []
        self._rows = sorted(items, key=lambda r: (order.get(r.state, 9), -r.since))
        self.table.setRowCount(len(self._rows))
        now = time.time()
        for i, r in enumerate(self._rows):
            cells = (cell(r.name), cell(r.state), cell(r.severity),
                     cell(ago(now - r.since), right=True), cell(r.summary, tip=r.summary))
            for col, item in enumerate(cells):
                self.table.setItem(i, col, item)
        self.note.setText(f"{sum(r.state == 'firing' for r in self._rows)} firing")

    def _act(self, what: str, seconds: float) -> None:
        alerts = self._ctl.alerts
        row = self.table.currentRow()
        if alerts is None or not 0 <= row < len(self._rows):
            return
        key = self._rows[row].key
        fn = ((lambda: alerts.snooze(key, seconds)) if what == "snooze"
              else (lambda: alerts.acknowledge(key)))
        self._ctl.runner.submit(fn, lambda _r: self.refresh())

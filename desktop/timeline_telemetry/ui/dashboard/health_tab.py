"""The Health tab: a table of checks (status, message, age) and a status timeline."""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from timeline_telemetry.health import HealthReport, HealthStatus, HealthTransition
from timeline_telemetry.ui.controller import AppController

__all__ = ["STATUS_COLOURS", "HealthTab", "StatusTimeline"]

STATUS_COLOURS = {
    HealthStatus.HEALTHY: QColor("#2e9d4f"),
    HealthStatus.WARNING: QColor("#d99a00"),
    HealthStatus.UNHEALTHY: QColor("#d0352b"),
    HealthStatus.UNKNOWN: QColor("#b0b4ba"),
}


class StatusTimeline(QWidget):
    """One row per check, coloured by status over the last ``span_s`` seconds."""

    def __init__(self, span_s: float = 3600.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.span_s = span_s
        self.setMinimumHeight(120)
        self._rows: list[str] = []
        self._transitions: list[HealthTransition] = []

    def set_data(self, names: list[str], transitions: list[HealthTransition]) -> None:
        """Replace the rows (check names) and the transitions to draw."""
        self._rows = names
        self._transitions = transitions
        self.setMinimumHeight(30 + 22 * max(1, len(names)))
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Draw each row's status segments, newest at the right."""
        p = QPainter(self)
        now = time.time()
        left, width = 150.0, max(1.0, self.width() - 160.0)
        for i, name in enumerate(self._rows):
            y = 10 + 22 * i
            p.setPen(Qt.GlobalColor.black)
            p.drawText(QRectF(4, y, left - 8, 18), Qt.AlignmentFlag.AlignVCenter, name)
            status, since = HealthStatus.UNKNOWN, now - self.span_s
            for tr in (t for t in self._transitions if t.component == name):
                self._segment(p, (left, width, y), (since, tr.when), status, now)
                status, since = tr.new, tr.when
            self._segment(p, (left, width, y), (since, now), status, now)
        p.end()

    def _segment(self, p: QPainter, geom: tuple[float, float, float], span: tuple[float, float],
                 status: HealthStatus, now: float) -> None:
        left, width, y = geom
        start, end = span
        lo = max(start, now - self.span_s)
        if end <= lo:
            return
        x0 = left + width * (1 - (now - lo) / self.span_s)
        x1 = left + width * (1 - (now - end) / self.span_s)
        p.fillRect(QRectF(x0, y, max(1.0, x1 - x0), 18), STATUS_COLOURS[status])


class HealthTab(QWidget):
    """Updated from the controller's ``health_ready`` signal; no I/O here."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Check", "Status", "Message", "Age"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.timeline = StatusTimeline()
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 3)
        lay.addWidget(self.timeline, 1)
        controller.health_ready.connect(self.show_report)
        if controller.last_report is not None:
            self.show_report(controller.last_report)

    def show_report(self, report: object) -> None:
        """Fill the table and the timeline from ``report``."""
        if not isinstance(report, HealthReport):
            return
        now = time.time()
        self.table.setRowCount(len(report.results))
        for row, (name, res) in enumerate(report.results.items()):
            age = f"{max(0.0, now - res.timestamp):.0f} s" if res.timestamp else "-"
            for col, text in enumerate((name, res.status.label, res.message, age)):
                item = QTableWidgetItem(text)
                if col == 1:
                    item.setBackground(STATUS_COLOURS[res.status].lighter(150))
                self.table.setItem(row, col, item)
        health = self._ctl.manager.health
        transitions = health.transitions() if health is not None else []
        self.timeline.set_data(list(report.results), transitions)

    def select(self, name: str) -> None:
        """Select the row of check ``name`` (from a notification click)."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == name:
                self.table.selectRow(row)
                return

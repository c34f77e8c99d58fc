"""The Health tab: a table of checks (status, when checked, message) and a status timeline."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QHelpEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QToolTip, QVBoxLayout, QWidget

from timeline_telemetry.health import HealthReport, HealthStatus, HealthTransition
from timeline_telemetry.ui.controller import AppController

from .painting import draw_swatches, draw_ticks
from .tables import STATUS_COLOURS, ago, cell, list_table, status_icon

__all__ = ["STATUS_COLOURS", "HealthTab", "StatusTimeline"]

_ROW, _TOP, _LEFT = 22, 50, 150.0
_LEGEND: tuple[tuple[HealthStatus, str], ...] = (
    (HealthStatus.HEALTHY, "Healthy"), (HealthStatus.WARNING, "Warning"),
    (HealthStatus.UNHEALTHY, "Unhealthy"), (HealthStatus.UNKNOWN, "Unknown / no data yet"))


class StatusTimeline(QWidget):
    """One row per check, coloured by its status over the last ``span_s`` seconds ("now" at
    the right), under a line saying so with the colours' meaning and a time scale; hovering
    a bar tells the status at that moment."""

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
        self.setMinimumHeight(_TOP + _ROW * max(1, len(names)) + 8)
        self.update()

    def status_at(self, name: str, when: float) -> tuple[HealthStatus, str]:
        """Check ``name``'s status at wall-clock ``when`` and the message it changed with
        (unknown before its first transition)."""
        status, message = HealthStatus.UNKNOWN, ""
        for tr in self._transitions:
            if tr.component == name and tr.when <= when:
                status, message = tr.new, tr.message
        return status, message

    def event(self, event: QEvent) -> bool:
        """Tooltips: the hovered check's status at the hovered time."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            row = int((event.pos().y() - _TOP) // _ROW)
            width = max(1.0, self.width() - _LEFT - 12)
            frac = (event.pos().x() - _LEFT) / width
            if event.pos().y() < _TOP or row >= len(self._rows) or not 0 <= frac <= 1:
                QToolTip.hideText()
                event.ignore()
                return True
            back = (1 - frac) * self.span_s
            status, message = self.status_at(self._rows[row], time.time() - back)
            text = f"{self._rows[row]}: {status.label}, {ago(back) if back >= 1 else 'now'}"
            QToolTip.showText(event.globalPos(), text + (f"\n{message}" if message else ""),
                              self)
            return True
        return super().event(event)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The caption and legend, the time scale, then each row's status segments."""
        p = QPainter(self)
        text_colour = self.palette().text().color()
        p.setPen(text_colour)
        caption = f"Each check's status over the last {self.span_s / 60:.0f} min:"
        cw = p.fontMetrics().horizontalAdvance(caption)
        p.drawText(QRectF(4, 2, cw + 4, 18), Qt.AlignmentFlag.AlignVCenter, caption)
        draw_swatches(p, cw + 18, 2, [(STATUS_COLOURS[s], text) for s, text in _LEGEND])
        now = time.time()
        width = max(1.0, self.width() - _LEFT - 12)
        p.save()
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        draw_ticks(p, (_LEFT, _TOP - 2, width, _ROW * max(1, len(self._rows))), self.span_s,
                   lambda v: "now" if v == 0 else ago(v), step=self.span_s / 4,
                   from_right=True)
        p.restore()
        for i, name in enumerate(self._rows):
            y = _TOP + _ROW * i
            p.setPen(text_colour)
            p.drawText(QRectF(4, y, _LEFT - 8, 18), Qt.AlignmentFlag.AlignVCenter,
                       p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight,
                                                  int(_LEFT - 8)))
            status, since = HealthStatus.UNKNOWN, now - self.span_s
            for tr in (t for t in self._transitions if t.component == name):
                self._segment(p, (_LEFT, width, y), (since, tr.when), status, now)
                status, since = tr.new, tr.when
            self._segment(p, (_LEFT, width, y), (since, now), status, now)
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
        self.table = list_table(["Check", "Status", "Checked", "Message"], "Health checks")
        self.timeline = StatusTimeline()
        self.timeline.setAccessibleName("Health over time")
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
            status = cell(res.status.label)
            status.setIcon(status_icon(res.status))
            checked = ago(now - res.timestamp) if res.timestamp else "-"
            for col, item in enumerate((cell(name), status, cell(checked, right=True),
                                        cell(res.message, tip=res.message))):
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

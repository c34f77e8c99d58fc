"""The Overview page, first in the dashboard: large, calm figures with sparklines (CPU, GPU,
VRAM, RAM, network), each checked drive as hours of footage left, the editor's state with
its progress, the active alerts and the exporters. Readable in one glance from the desk.

The figures come from the controller's latest snapshot and health report (the core's, see
:mod:`timeline_telemetry.ui.overview_model`); the sparklines' past is read once from the
history on the pool when the page is first shown, then follows the collections. Hidden, the
page does no work. Sparklines are painted by hand (a polyline): no pyqtgraph item per figure.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.export.base import ExportState, ExportStatus
from timeline_telemetry.ui.controller import AppController
from timeline_telemetry.ui.overview_model import (
    SPARK_POINTS,
    Figure,
    NetworkRate,
    drive_figures,
    editor_state,
    machine_figures,
    network_figure,
    spark_history,
    trend,
)
from timeline_telemetry.ui.providers import AlertRow

from .theme import level_colour, series_colour

__all__ = ["FigureCard", "OverviewTab", "Sparkline"]


class Sparkline(QWidget):
    """A small line of the last values (oldest left), with no axes; the fill under it is faint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: deque[float] = deque(maxlen=SPARK_POINTS)
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def sizeHint(self) -> QSize:
        """Wide and short."""
        return QSize(160, 34)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The polyline scaled to the values' range (0 at the bottom when all positive)."""
        del event
        vals = list(self.values)
        if len(vals) < 2:
            return
        lo, hi = min(0.0, *vals), max(vals)
        if hi - lo < 1e-9:
            hi = lo + 1.0
        w, h = float(self.width()), float(self.height()) - 2
        step = w / (SPARK_POINTS - 1)
        x0 = w - step * (len(vals) - 1)
        pts = [QPointF(x0 + i * step, 1 + h - (v - lo) / (hi - lo) * h)
               for i, v in enumerate(vals)]
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        colour = series_colour(0, self.palette())
        fill = QColor(colour)
        fill.setAlpha(40)
        area = QPolygonF([QPointF(pts[0].x(), h + 1), *pts, QPointF(pts[-1].x(), h + 1)])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawPolygon(area)
        p.setPen(QPen(colour, 1.6))
        p.drawPolyline(QPolygonF(pts))
        p.end()


class FigureCard(QFrame):
    """One figure: the title (small), the value (large), a detail line, a sparkline."""

    def __init__(self, title: str, *, spark: bool = True, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # screen readers reach it by Tab
        self.title = QLabel(title)
        small = QFont(self.title.font())
        small.setPointSizeF(small.pointSizeF() * 1.05)
        self.title.setFont(small)
        self.value = QLabel("…")
        big = QFont(self.value.font())
        big.setPointSizeF(big.pointSizeF() * 2.4)
        big.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(big)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.spark = Sparkline() if spark else None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.value)
        lay.addWidget(self.detail)
        if self.spark is not None:
            lay.addWidget(self.spark)
        lay.addStretch(1)
        self.setAccessibleName(title)
        self.figure: Figure | None = None

    def show_figure(self, fig: Figure) -> None:
        """Show ``fig``; its number joins the sparkline; the accessible text follows."""
        self.figure = fig
        if self.value.text() != fig.value:
            self.value.setText(fig.value)
        if self.detail.text() != fig.detail:
            self.detail.setText(fig.detail)
        colour = level_colour(fig.level, self.palette())
        self.value.setStyleSheet(f"color:{colour.name()};" if colour is not None else "")
        if self.spark is not None and fig.number is not None:
            self.spark.values.append(fig.number)
            self.spark.update()
        self.setAccessibleDescription(self.spoken())

    def spoken(self) -> str:
        """The figure and its trend over the sparkline, as one sentence."""
        if self.figure is None:
            return ""
        text = self.figure.spoken()
        if self.spark is not None and len(self.spark.values) >= 4:
            text += f"; {trend(list(self.spark.values))} over the last minutes"
        return text


class OverviewTab(QWidget):
    """The figures grid, the editor's state, active alerts and exporters."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._net = NetworkRate()
        self._prefilled = False
        #: Figure updates applied (tests, benchmarks).
        self.updates = 0
        self.cards: dict[str, FigureCard] = {}
        grid = QGridLayout()
        grid.setSpacing(10)
        for i, (key, title) in enumerate((("cpu", "CPU"), ("gpu", "GPU"), ("vram", "VRAM"),
                                          ("ram", "RAM"), ("net", "Network"))):
            card = FigureCard(title)
            self.cards[key] = card
            grid.addWidget(card, i // 3, i % 3)
        self.editor_card = FigureCard("Editor", spark=False)
        self.editor_progress = QProgressBar()
        self.editor_progress.setRange(0, 100)
        self.editor_progress.setAccessibleName("Editor progress")
        self.editor_progress.hide()
        elay = self.editor_card.layout()
        assert isinstance(elay, QVBoxLayout)
        elay.insertWidget(3, self.editor_progress)
        grid.addWidget(self.editor_card, 1, 2)
        self.drives = QGridLayout()
        self.drives.setSpacing(10)
        self._drive_cards: dict[str, FigureCard] = {}

        lists = QHBoxLayout()
        self.alerts = QListWidget()
        self.alerts.setAccessibleName("Active alerts")
        self.exporters = QListWidget()
        self.exporters.setAccessibleName("Exporters")
        for title, widget in (("Active alerts", self.alerts), ("Exporters", self.exporters)):
            box = QVBoxLayout()
            label = QLabel(title)
            label.setBuddy(widget)
            box.addWidget(label)
            widget.setMaximumHeight(150)
            box.addWidget(widget)
            lists.addLayout(box)

        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        drives_title = QLabel("Drives")
        lay.addWidget(drives_title)
        lay.addLayout(self.drives)
        lay.addLayout(lists)
        lay.addStretch(1)
        controller.snapshot_ready.connect(lambda _s: self.refresh())
        # A health round refreshes the drives and lists, not the figures: those follow the
        # snapshots (refreshed here too, one snapshot's numbers joined the sparklines twice).
        controller.health_ready.connect(lambda _r: self._refresh_status())
        self.setAccessibleName("Overview")

    # -- refresh ------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        """First show: the sparklines' past from the history; every show: catch up."""
        super().showEvent(event)
        if not self._prefilled:
            self._prefilled = True
            history = self._ctl.manager.history
            if history is not None:
                self._ctl.runner.submit(lambda: spark_history(history, time.time()),
                                        self._prefill, tag="overview-prefill")
        self.refresh(force=True)

    def _prefill(self, result: object) -> None:
        if not isinstance(result, dict):
            return
        for key, values in result.items():
            card = self.cards.get(key)
            if card is not None and card.spark is not None and isinstance(values, list):
                live = list(card.spark.values)
                card.spark.values.clear()
                card.spark.values.extend([*values, *live][-SPARK_POINTS:])
                card.spark.update()
                card.setAccessibleDescription(card.spoken())

    def _hidden(self) -> bool:
        return not self.isVisible() or self.window().isMinimized()

    def _refresh_status(self) -> None:
        if not self._hidden():
            self._show_status()

    def refresh(self, *, force: bool = False) -> None:
        """Show the controller's latest figures (not while hidden, unless ``force``)."""
        if not force and self._hidden():
            self._net.update(self._ctl.last_snapshot)  # keep the rate's base current
            return
        snap = self._ctl.last_snapshot
        self.updates += 1
        for fig in machine_figures(snap):
            self.cards[fig.key].show_figure(fig)
        rates = self._net.update(snap)
        if rates is not None or self.cards["net"].figure is None:
            self.cards["net"].show_figure(network_figure(rates))
        state = editor_state(snap)
        self.editor_card.show_figure(Figure(
            "editor", "Editor", state.text, _editor_detail(state.state), None, "",
            "none" if state.state == "not running" else "ok"))
        self.editor_progress.setVisible(state.progress is not None)
        if state.progress is not None:
            self.editor_progress.setValue(round(state.progress * 100))
        self._show_status()

    def _show_status(self) -> None:
        """The drives (from the health report), the active alerts and the exporters."""
        self._show_drives(drive_figures(self._ctl.last_report))
        alerts = self._ctl.alerts
        if alerts is not None:
            self._ctl.runner.submit(alerts.list_active, self.show_alerts, tag="overview-alerts")
        elif self.alerts.count() == 0:
            self.alerts.addItem("Alerts not available")
        self._ctl.runner.submit(self._ctl.manager.get_export_status, self.show_exporters,
                                tag="overview-exporters")

    def _show_drives(self, figures: list[Figure]) -> None:
        for i, fig in enumerate(figures):
            card = self._drive_cards.get(fig.key)
            if card is None:
                card = FigureCard(fig.title, spark=False)
                self._drive_cards[fig.key] = card
                self.drives.addWidget(card, i // 3, i % 3)
            card.show_figure(fig)

    def show_alerts(self, rows: object) -> None:
        """Fill the active alerts list (``list_active``'s rows)."""
        active = [r for r in rows if isinstance(r, AlertRow)] if isinstance(rows, list) else []
        texts = [f"{r.name} ({r.state}, {r.severity}): {r.summary}" for r in active] or [
            "No active alerts"]
        if [self.alerts.item(i).text() for i in range(self.alerts.count())] != texts:
            self.alerts.clear()
            self.alerts.addItems(texts)

    def show_exporters(self, status: object) -> None:
        """Fill the exporters list (``get_export_status``'s ``{name: ExportStatus}``)."""
        if not isinstance(status, dict):
            return
        texts = []
        for name, st in sorted(status.items()):
            if isinstance(st, ExportStatus):
                mark = {ExportState.HEALTHY: "✓", ExportState.DEGRADED: "!",
                        ExportState.FAILED: "✗"}.get(st.state, "?")
                texts.append(f"{mark} {name}: {st.state.value}")
        texts = texts or ["No exporters configured"]
        if [self.exporters.item(i).text() for i in range(self.exporters.count())] != texts:
            self.exporters.clear()
            self.exporters.addItems(texts)


def _editor_detail(state: str) -> str:
    return {"not running": "no editor process found", "idle": "running, not rendering",
            "rendering": "rendering: the monitor samples less",
            "exporting": "exporting: the monitor samples less"}.get(state, "")


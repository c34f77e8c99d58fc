"""The Metrics tab: live pyqtgraph plots from the history, plus any pushed metric.

Data is read from the history on the pool (one job per refresh, skipped while one runs);
each curve is a PlotDataItem updated with ``setData``. pyqtgraph is imported here only.
"""

from __future__ import annotations

import time
from typing import Any

import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.history import HistoryStore
from timeline_telemetry.ui.controller import AppController

from .plotspec import PLOTS, WINDOWS, PlotSpec, legend, rate

__all__ = ["MetricsTab"]

_MAX_POINTS = 600
_Curves = dict[str, list[tuple[str, list[tuple[float, float]]]]]


def _query(history: HistoryStore, specs: list[PlotSpec], span: float) -> _Curves:
    end = time.time()
    out: _Curves = {}
    for spec in specs:
        curves: list[tuple[str, list[tuple[float, float]]]] = []
        for name in spec.metrics:
            for series in history.query(name, start=end - span, end=end,
                                        max_points=_MAX_POINTS):
                pts = rate(series.points) if spec.rate else series.points
                pts = [(t - end, v / spec.scale) for t, v in pts]
                curves.append((legend(name, series.labels), pts))
        out[spec.title] = curves
    return out


class MetricsTab(QWidget):
    """The plots grid, the window selector and the searchable list of other metrics."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._ticks = 0
        #: History reads submitted so far (each re-plots every curve).
        self.queries = 0
        self._custom: str | None = None
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        top = QHBoxLayout()
        top.addWidget(QLabel("Window:"))
        self.window_box = QComboBox()
        for label, _s, _r in WINDOWS:
            self.window_box.addItem(label)
        self.window_box.currentIndexChanged.connect(lambda _i: self._window_changed())
        top.addWidget(self.window_box)
        top.addStretch(1)
        self.status = QLabel("")
        top.addWidget(self.status)

        grid = pg.GraphicsLayoutWidget()
        grid.setMinimumHeight(len(PLOTS) // 2 * 190 + 190)
        self._plots: dict[str, Any] = {}
        self._items: dict[str, dict[str, Any]] = {}
        specs = [*PLOTS, PlotSpec("Pushed metric", "", ())]
        for i, spec in enumerate(specs):
            plot = grid.addPlot(row=i // 2, col=i % 2, title=f"{spec.title} ({spec.unit})"
                                if spec.unit else spec.title)
            plot.setLabel("bottom", "seconds ago")
            # Measured (bench/bench_tray.py): replaying the axes' pictures (their text) was
            # most of the open dashboard's CPU. An axis is redrawn whenever its range moves,
            # which autorange over a sliding window does every second, and a grid makes
            # every axis part of each curve's repaint. Fixed ranges and no grid: 15 % -> 4 %
            # of a core at 1 s updates.
            plot.enableAutoRange(x=False)
            plot.setMouseEnabled(x=False)
            if spec.y_range is not None:
                plot.enableAutoRange(y=False)
                plot.setYRange(*spec.y_range, padding=0.02)
            plot.addLegend(offset=(5, 5))
            self._plots[spec.title] = plot
            self._items[spec.title] = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid)

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("Other metrics (pushed by the editor, ...)"))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search metrics…")
        self.search.textChanged.connect(self._filter)
        sl.addWidget(self.search)
        self.metric_list = QListWidget()
        self.metric_list.currentTextChanged.connect(self._pick)
        sl.addWidget(self.metric_list)

        split = QSplitter()
        split.addWidget(scroll)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        controller.snapshot_ready.connect(lambda _s: self.refresh())
        for plot in self._plots.values():
            plot.setXRange(-self.span()[0], 0, padding=0)

    def _window_changed(self) -> None:
        seconds, _every = self.span()
        for plot in self._plots.values():
            plot.setXRange(-seconds, 0, padding=0)
        self.refresh(force=True)

    def span(self) -> tuple[float, int]:
        """The selected window in seconds and its refresh period in ticks."""
        _label, seconds, every = WINDOWS[max(0, self.window_box.currentIndex())]
        return seconds, every

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the history for the visible window (every N ticks for long windows)."""
        history = self._ctl.manager.history
        if history is None:
            self.status.setText("History is disabled: nothing to plot")
            return
        seconds, every = self.span()
        self._ticks += 1
        if not force and (self._ticks % every or not self.isVisible()
                          or self.window().isMinimized()):
            return  # another tab, or the window hidden or minimised: no work for nothing
        specs = list(PLOTS)
        if self._custom:
            specs.append(PlotSpec("Pushed metric", "", (self._custom,)))
        self.queries += 1
        self._ctl.runner.submit(lambda: (_query(history, specs, seconds), history.names()),
                                self._apply, tag="plots")

    def showEvent(self, event: QShowEvent) -> None:
        """Catch up at once when the tab (or the window) is shown again."""
        super().showEvent(event)
        self.refresh(force=True)

    def _apply(self, result: object) -> None:
        if not isinstance(result, tuple):
            return
        data: _Curves = result[0]
        names: list[str] = result[1]
        for title, curves in data.items():
            self._set_curves(title, curves)
        known = {self.metric_list.item(i).text() for i in range(self.metric_list.count())}
        for name in names:
            if name not in known:
                self.metric_list.addItem(name)
        self._filter(self.search.text())

    def _set_curves(self, title: str, curves: list[tuple[str, list[tuple[float, float]]]]
                    ) -> None:
        plot, items = self._plots[title], self._items[title]
        seen = set()
        for i, (name, pts) in enumerate(curves):
            seen.add(name)
            item = items.get(name)
            if item is None:
                item = plot.plot(name=name, pen=pg.mkPen(pg.intColor(i, hues=9), width=1.5))
                items[name] = item
            item.setData([p[0] for p in pts], [p[1] for p in pts])
        for name in list(items):
            if name not in seen:
                plot.removeItem(items.pop(name))

    def _filter(self, text: str) -> None:
        needle = text.lower()
        for i in range(self.metric_list.count()):
            item = self.metric_list.item(i)
            item.setHidden(needle not in item.text().lower())

    def _pick(self, name: str) -> None:
        self._custom = name or None
        self._plots["Pushed metric"].setTitle(name or "Pushed metric")
        self.refresh(force=True)

    def select_metric(self, name: str) -> None:
        """Plot ``name`` in the "Pushed metric" plot (from a notification or a test)."""
        self._pick(name)

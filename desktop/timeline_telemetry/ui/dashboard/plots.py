"""The Metrics tab: live pyqtgraph plots from the history, plus any other stored metric.

Data is read from the history on the pool (one job per refresh, skipped while one runs,
see :mod:`.plotdata`); each curve is a PlotDataItem updated with ``setData``. pyqtgraph is
imported here only.

Measured (bench/bench_tray.py): replaying the axes' pictures (their text) was most of the
open dashboard's CPU. An axis is redrawn whenever its range moves, which autorange over a
sliding window does every second, and a grid makes every axis part of each curve's repaint.
So: fixed x ranges, fixed 0-100 for percentages, no grid, and the other plots' y range set
by :func:`.plotspec.sticky_y_range`, which changes only when the data leaves it (15 % -> 4 %
of a core at 1 s updates).
"""

from __future__ import annotations

import math
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

from timeline_telemetry.ui.controller import AppController

from .plotdata import PlotData, PlotReader
from .plotspec import PLOTS, WINDOWS, PlotSpec, plotted_names, sticky_y_range, y_range_for

__all__ = ["PUSHED", "MetricsTab"]

#: The title of the last plot, which draws the metric picked in the list.
PUSHED = "Pushed metric"
_LEGEND_ROWS = 4
#: The stored names (for the list) are read again every this many refreshes.
_NAMES_EVERY = 10


def _pushed_spec(name: str | None) -> PlotSpec:
    return PlotSpec(PUSHED, "", (name,) if name else (), min_span=0.0, floor=None)


class MetricsTab(QWidget):
    """The plots grid, the window selector and the searchable list of other metrics."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._ticks = 0
        #: History reads submitted so far (each re-plots every curve).
        self.queries = 0
        self._custom: str | None = None
        self._reader: PlotReader | None = None
        self._specs: dict[str, PlotSpec] = {s.title: s for s in (*PLOTS, _pushed_spec(None))}
        self._titles: dict[str, str] = {}
        self._listed: set[str] = set()
        self._hidden_names = plotted_names()
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
        for i, spec in enumerate(self._specs.values()):
            self._plots[spec.title] = self._make_plot(grid, i, spec)
            self._items[spec.title] = {}
            self._set_title(spec.title, None, has_data=False)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(grid)

        side = QWidget()
        side.setMinimumWidth(220)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("More metrics: click one to plot it (last plot)")
        hint.setWordWrap(True)
        sl.addWidget(hint)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search metrics…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        sl.addWidget(self.search)
        self.metric_list = QListWidget()
        self.metric_list.setSortingEnabled(True)
        self.metric_list.currentTextChanged.connect(self._pick)
        sl.addWidget(self.metric_list)

        split = QSplitter()
        split.addWidget(self._scroll)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        controller.snapshot_ready.connect(lambda _s: self.refresh())
        for plot in self._plots.values():
            plot.setXRange(-self.span()[0], 0, padding=0)

    def _make_plot(self, grid: Any, i: int, spec: PlotSpec) -> Any:
        plot = grid.addPlot(row=i // 2, col=i % 2)
        plot.setLabel("bottom", "seconds ago")
        plot.enableAutoRange(x=False, y=False)
        plot.setMouseEnabled(x=False)
        plot.hideButtons()  # its "A" would turn autorange back on, x included
        if spec.y_range is not None:
            lo, hi = spec.y_range
            pad = 0.02 * (hi - lo)
            plot.setLimits(yMin=lo - pad, yMax=hi + pad)
            plot.setYRange(lo, hi, padding=0.02)
        else:
            self._set_y(plot, spec, y_range_for(math.inf, -math.inf, min_span=spec.min_span,
                                                floor=spec.floor))
        # Top left, where the oldest data is (the right edge is "now"), and see-through.
        plot.addLegend(offset=(4, 2), brush=pg.mkBrush(255, 255, 255, 170),
                       pen=pg.mkPen(200, 200, 200, 200), labelTextSize="8pt", verSpacing=-8)
        plot.legend.setVisible(False)
        return plot

    @staticmethod
    def _set_y(plot: Any, spec: PlotSpec, rng: tuple[float, float]) -> None:
        # Limits first: they also bound the user's zoom and pan (never below the floor,
        # never thinner than min_span).
        plot.setLimits(yMin=None if spec.floor is None else rng[0],
                       minYRange=spec.min_span or None)
        plot.setYRange(*rng, padding=0)

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
            specs.append(self._specs[PUSHED])
        if self._reader is None or self._reader.history is not history:
            self._reader = PlotReader(history)
        # The stored names grow during the first collections, then hardly ever.
        reader = self._reader
        names = self.queries < _NAMES_EVERY or self.queries % _NAMES_EVERY == 0
        self.queries += 1
        self._ctl.runner.submit(
            lambda: (reader.read(specs, seconds, incremental=every == 1),
                     history.names() if names else []),
            self._apply, tag="plots")

    def showEvent(self, event: QShowEvent) -> None:
        """Catch up at once when the tab (or the window) is shown again."""
        super().showEvent(event)
        self.refresh(force=True)

    def _apply(self, result: object) -> None:
        if not isinstance(result, tuple):
            return
        data: dict[str, PlotData] = result[0]
        names: list[str] = result[1]
        for title, plot_data in data.items():
            if title == PUSHED and self._specs[PUSHED].metrics != (self._custom,):
                continue  # read before another metric was picked
            self._set_curves(title, plot_data)
        new = [n for n in names if n not in self._listed and n not in self._hidden_names]
        if new:
            self._listed.update(new)
            self.metric_list.addItems(new)
            self._filter(self.search.text())

    def _set_curves(self, title: str, data: PlotData) -> None:
        plot, items = self._plots[title], self._items[title]
        seen = set()
        for name, xs, ys in data.curves:
            seen.add(name)
            item = items.get(name)
            if item is None:
                item = plot.plot(name=name or None, pen=pg.mkPen(pg.intColor(len(items), hues=9),
                                                         width=1.5))
                items[name] = item
                self._fit_legend(plot, len(items))
            item.setData(xs, ys)
        for name in list(items):
            if name not in seen:
                plot.removeItem(items.pop(name))
                self._fit_legend(plot, len(items))
        spec = self._specs[title]
        if spec.y_range is None:
            current = tuple(plot.viewRange()[1])
            rng = sticky_y_range(data.lo, data.hi, (current[0], current[1]),
                                 min_span=spec.min_span, floor=spec.floor)
            if rng is not None:
                self._set_y(plot, spec, rng)
        self._set_title(title, data.total, has_data=bool(data.curves))

    @staticmethod
    def _fit_legend(plot: Any, count: int) -> None:
        # Many cores: columns, so the legend does not cover the whole plot.
        legend = plot.legend
        columns = max(1, math.ceil(count / _LEGEND_ROWS))
        if legend.columnCount != columns:
            legend.setColumnCount(columns)
        legend.setVisible(bool(legend.items))  # an empty legend is an empty box

    def _set_title(self, title: str, total: float | None, *, has_data: bool) -> None:
        spec = self._specs[title]
        name = (self._custom or title) if title == PUSHED else title
        unit = f" ({spec.unit})" if spec.unit else ""
        if total is not None:
            unit = f" ({spec.unit}, of {total:.1f} {spec.unit})"
        text = name + unit + ("" if has_data else ": no data")
        if self._titles.get(title) != text:  # a new title relays the plot out: only if new
            self._titles[title] = text
            self._plots[title].setTitle(text, size="10pt")

    def _filter(self, text: str) -> None:
        needle = text.lower()
        for i in range(self.metric_list.count()):
            item = self.metric_list.item(i)
            item.setHidden(needle not in item.text().lower())

    def _pick(self, name: str) -> None:
        self._custom = name or None
        spec = _pushed_spec(self._custom)
        self._specs[PUSHED] = spec
        plot = self._plots[PUSHED]
        for item in self._items[PUSHED].values():
            plot.removeItem(item)
        self._items[PUSHED].clear()
        self._fit_legend(plot, 0)
        self._set_y(plot, spec, y_range_for(math.inf, -math.inf, min_span=0.0, floor=None))
        self._set_title(PUSHED, None, has_data=False)
        bar = self._scroll.verticalScrollBar()
        bar.setValue(bar.maximum())  # the pushed plot is the last one
        self.refresh(force=True)

    def select_metric(self, name: str) -> None:
        """Plot ``name`` in the "Pushed metric" plot (from a notification or a test)."""
        self._pick(name)

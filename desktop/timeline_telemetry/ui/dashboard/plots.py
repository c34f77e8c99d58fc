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

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.ui.controller import AppController
from timeline_telemetry.ui.overview_model import trend

from .annotations import Annotation, read_annotations
from .plotdata import PlotData, PlotReader, export_csv
from .plotspec import PLOTS, WINDOWS, PlotSpec, plotted_names, sticky_y_range, y_range_for
from .theme import plot_colours, series_colour

__all__ = ["PUSHED", "MetricsTab", "WorkRegion", "fmt_ago", "fmt_value"]

_log = logging.getLogger(__name__)

#: The title of the last plot, which draws the metric picked in the list.
PUSHED = "Pushed metric"
_LEGEND_ROWS = 4
#: The stored names (for the list) are read again every this many refreshes.
_NAMES_EVERY = 10


#: Major and minor tick spacing (seconds) of the time axis for each window.
_TICKS = {300.0: (60.0, 30.0), 3600.0: (600.0, 300.0), 86400.0: (4 * 3600.0, 3600.0),
          7 * 86400.0: (86400.0, 6 * 3600.0)}


def fmt_ago(seconds: float) -> str:
    """A time-axis label: ``now``, ``-45 s``, ``-5 min``, ``-3 h``, ``-2 d``."""
    s = -seconds if seconds < 0 else seconds
    if s < 0.5:
        return "now"
    if s < 120:
        return f"-{s:.0f} s"
    if s < 2 * 3600:
        return f"-{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"-{s / 3600:.0f} h"
    return f"-{s / 86400:.0f} d"


def fmt_value(v: float, unit: str) -> str:
    """A value with its unit, rounded for reading (``42 %``, ``3.21 GiB``, ``0.52 MiB/s``)."""
    if unit == "%":
        return f"{v:.0f} %"
    if not unit:
        return f"{v:.4g}"
    return f"{v:.3g} {unit}" if abs(v) < 100 else f"{v:.0f} {unit}"


class AgoAxis(pg.AxisItem):  # type: ignore[misc]
    """The time axis: seconds before now, labelled ``-5 min``, ``-3 h``..."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        """One label per tick."""
        del scale, spacing
        return [fmt_ago(v) for v in values]


class WorkRegion(pg.LinearRegionItem):  # type: ignore[misc]
    """A render/export on a plot: shaded, a tooltip on hover, a click opens its trace."""

    def __init__(self, note: Annotation, on_click: Any, brush: Any) -> None:
        super().__init__(values=(0, 0), movable=False, brush=brush,
                         pen=pg.mkPen(None))
        self.note = note
        self._on_click = on_click
        self.setToolTip(note.tip)
        self.setZValue(-10)  # under the curves

    def mouseClickEvent(self, ev: Any) -> None:
        """Open the trace (left button)."""
        if ev.button() == Qt.MouseButton.LeftButton and self.note.trace_id:
            ev.accept()
            self._on_click(self.note.trace_id)


def _pushed_spec(name: str | None) -> PlotSpec:
    return PlotSpec(PUSHED, "", (name,) if name else (), min_span=0.0, floor=None)


class MetricsTab(QWidget):
    """The plots grid, the window selector and the searchable list of other metrics; the
    editor's renders/exports (shaded) and alert firings (lines) on every plot.
    ``trace_clicked(trace_id)`` when a shaded render is clicked."""

    trace_clicked = Signal(str)

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
        #: Each plot's one-line text summary (last value and trend), for screen readers.
        self.summaries: dict[str, str] = {}
        self._cross: dict[str, tuple[Any, Any]] = {}
        #: The annotations shown (work regions and alert markers), and their items per plot.
        self.annotations: list[Annotation] = []
        self._notes: dict[str, list[Any]] = {}
        bg, fg = plot_colours(self.palette())
        self._bg, self._fg = bg, fg
        pg.setConfigOptions(antialias=False, background=bg, foreground=fg)
        top = QHBoxLayout()
        top.addWidget(QLabel("Window:"))
        self.window_box = QComboBox()
        for label, _s, _r in WINDOWS:
            self.window_box.addItem(label)
        self.window_box.currentIndexChanged.connect(lambda _i: self._window_changed())
        top.addWidget(self.window_box)
        self.window_box.setAccessibleName("Time window")
        top.addSpacing(16)
        export_label = QLabel("&Series:")
        top.addWidget(export_label)
        self.export_box = QComboBox()
        self.export_box.setAccessibleName("Series to export")
        for spec in PLOTS:
            self.export_box.addItem(spec.title)
        export_label.setBuddy(self.export_box)
        top.addWidget(self.export_box)
        self.export_btn = QPushButton("Export &CSV…")
        self.export_btn.setAccessibleDescription(
            "Write the selected series for the window shown to a CSV file")
        self.export_btn.clicked.connect(self._ask_export)
        top.addWidget(self.export_btn)
        top.addStretch(1)
        self.status = QLabel("")
        top.addWidget(self.status)

        grid = pg.GraphicsLayoutWidget()
        self._grid = grid
        grid.setAccessibleName("Metric plots")
        grid.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
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
        self.search.setAccessibleName("Search metrics")
        self.search.textChanged.connect(self._filter)
        sl.addWidget(self.search)
        self.metric_list = QListWidget()
        self.metric_list.setSortingEnabled(True)
        self.metric_list.setAccessibleName("More metrics")
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
        grid.scene().sigMouseMoved.connect(self._on_mouse)
        self._set_ticks()
        for plot in self._plots.values():
            plot.setXRange(-self.span()[0], 0, padding=0)

    def _make_plot(self, grid: Any, i: int, spec: PlotSpec) -> Any:
        plot = grid.addPlot(row=i // 2, col=i % 2, axisItems={"bottom": AgoAxis("bottom")})
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
        see_through = QColor(self._bg)
        see_through.setAlpha(170)
        edge = QColor(self._fg)
        edge.setAlpha(60)
        plot.addLegend(offset=(4, 2), brush=pg.mkBrush(see_through), pen=pg.mkPen(edge),
                       labelTextSize="8pt", verSpacing=-8, labelTextColor=self._fg)
        plot.legend.setVisible(False)
        # The crosshair: a line and the values under the pointer (hidden until it moves in).
        line_colour = QColor(self._fg)
        line_colour.setAlpha(120)
        line = pg.InfiniteLine(angle=90, movable=False,
                               pen=pg.mkPen(line_colour, width=1, style=Qt.PenStyle.DashLine))
        label = pg.TextItem("", color=self._fg, fill=pg.mkBrush(see_through), anchor=(0, 0))
        for item in (line, label):
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
        self._cross[spec.title] = (line, label)
        return plot

    def _show_annotations(self, notes: object) -> None:
        """Place the annotations on every plot (x = seconds before now, so they move)."""
        fresh = [n for n in notes if isinstance(n, Annotation)] if isinstance(notes, list) else []
        now = time.time()
        if fresh != self.annotations or not self._notes:
            self.annotations = fresh
            for title, plot in self._plots.items():
                for item in self._notes.pop(title, []):
                    plot.removeItem(item)
                items = []
                for note in fresh:
                    if note.kind == "work":
                        colour = QColor("#D55E00" if note.error else "#56B4E9")
                        colour.setAlpha(55)
                        item = WorkRegion(note, self.trace_clicked.emit, pg.mkBrush(colour))
                    else:
                        item = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(
                            QColor("#E69F00"), width=1.5, style=Qt.PenStyle.DotLine))
                        item.setToolTip(note.tip)
                    plot.addItem(item, ignoreBounds=True)
                    items.append(item)
                self._notes[title] = items
        for items in self._notes.values():
            for note, item in zip(self.annotations, items, strict=False):
                if isinstance(item, WorkRegion):
                    item.setRegion((note.start - now, note.end - now))
                else:
                    item.setPos(note.start - now)

    def _set_ticks(self) -> None:
        major, minor = _TICKS.get(self.span()[0], (None, None))
        for plot in self._plots.values():
            plot.getAxis("bottom").setTickSpacing(major, minor)

    def crosshair_text(self, title: str, x: float) -> str:
        """The crosshair's text on plot ``title`` at ``x`` (seconds before now): the time
        and each curve's value there, with its unit."""
        spec = self._specs[title]
        lines = [fmt_ago(x)]
        for name, item in self._items[title].items():
            xs, ys = item.getData()
            if xs is None or not len(xs):
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            lines.append(f"{name or spec.title}: {fmt_value(float(ys[i]), spec.unit)}")
        return "\n".join(lines)

    def _on_mouse(self, pos: QPointF) -> None:
        for title, plot in self._plots.items():
            line, label = self._cross[title]
            inside = plot.sceneBoundingRect().contains(pos) and bool(self._items[title])
            if inside:
                view = plot.vb.mapSceneToView(pos)
                x = min(0.0, max(-self.span()[0], view.x()))
                line.setPos(x)
                label.setText(self.crosshair_text(title, x))
                (x0, x1), (_y0, y1) = plot.viewRange()
                label.setAnchor((1, 0) if x > (x0 + x1) / 2 else (0, 0))
                label.setPos(x, y1)
            line.setVisible(inside)
            label.setVisible(inside)

    @staticmethod
    def _set_y(plot: Any, spec: PlotSpec, rng: tuple[float, float]) -> None:
        # Limits first: they also bound the user's zoom and pan (never below the floor,
        # never thinner than min_span).
        plot.setLimits(yMin=None if spec.floor is None else rng[0],
                       minYRange=spec.min_span or None)
        plot.setYRange(*rng, padding=0)

    def _window_changed(self) -> None:
        seconds, _every = self.span()
        self._set_ticks()
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
        receiver = self._ctl.manager.receiver
        store = receiver.trace_store if receiver is not None else None
        alerts = self._ctl.alerts
        self._ctl.runner.submit(
            lambda: (reader.read(specs, seconds, incremental=every == 1),
                     history.names() if names else [],
                     _notes_safely(store, alerts, seconds)),
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
        self._show_annotations(result[2])
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
                colour = series_colour(len(items), self.palette())
                item = plot.plot(name=name or None, pen=pg.mkPen(colour, width=1.5))
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
        self._summarise(title, data)

    def _summarise(self, title: str, data: PlotData) -> None:
        spec = self._specs[title]
        parts = []
        for name, _xs, ys in data.curves[:4]:
            if len(ys):
                parts.append(f"{name or 'now'} {fmt_value(float(ys[-1]), spec.unit)}, "
                             f"{trend([float(v) for v in ys[-60:]])}")
        text = f"{title}: " + ("; ".join(parts) if parts else "no data")
        if self.summaries.get(title) != text:
            self.summaries[title] = text
            self._grid.setAccessibleDescription(". ".join(self.summaries.values()))

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
            self._plots[title].setTitle(text, size="10pt", color=self._fg)

    def changeEvent(self, event: QEvent) -> None:
        """The system switched between light and dark: recolour the plots."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_theme()

    def apply_theme(self) -> None:
        """Background, axes, titles, legends, crosshair and curves from the palette."""
        bg, fg = plot_colours(self.palette())
        if (bg.rgb(), fg.rgb()) == (self._bg.rgb(), self._fg.rgb()):
            return
        self._bg, self._fg = bg, fg
        pg.setConfigOptions(background=bg, foreground=fg)
        self._grid.setBackground(bg)
        see_through = QColor(bg)
        see_through.setAlpha(170)
        for title, plot in self._plots.items():
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(fg)
                axis.setTextPen(fg)
            plot.legend.setBrush(pg.mkBrush(see_through))
            plot.legend.setLabelTextColor(fg)
            for i, item in enumerate(self._items[title].values()):
                item.setPen(pg.mkPen(series_colour(i, self.palette()), width=1.5))
            _line, label = self._cross[title]
            label.setColor(fg)
            label.fill = pg.mkBrush(see_through)
            text = self._titles.get(title)
            if text is not None:
                plot.setTitle(text, size="10pt", color=fg)

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

    # -- CSV ----------------------------------------------------------------------------
    def _ask_export(self) -> None:
        title = self.export_box.currentText()
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export CSV", str(Path.home() / f"{title.lower().replace(' ', '-')}.csv"),
            "CSV (*.csv)")
        if path:
            self.export_csv(title, Path(path))

    def export_csv(self, title: str, path: Path) -> None:
        """Write plot ``title``'s series for the window shown to ``path`` (on the pool); the
        status line says how many rows were written, or why not."""
        history = self._ctl.manager.history
        if history is None:
            self.status.setText("History is disabled: nothing to export")
            return
        spec, seconds = self._specs[title], self.span()[0]

        def work() -> int:
            with path.open("w", encoding="utf-8", newline="") as out:
                return export_csv(history, spec, seconds, out)

        def done(rows: object) -> None:
            self.status.setText(f"{rows} rows of {title} written to {path}")

        def failed(exc: BaseException) -> None:
            self.status.setText(f"CSV not written: {exc}")

        self._ctl.runner.submit(work, done, failed, tag="csv")


def _notes_safely(store: Any, alerts: Any, span: float) -> list[Annotation]:
    """The annotations for the window (on the pool); a failing provider gives none."""
    try:
        return read_annotations(store, alerts, end=time.time(), span=span)
    except Exception:  # an alerts provider's failure must not stop the plots
        _log.exception("reading the plots' annotations failed")
        return []

"""Reading the plots' data from the history, off the GUI thread (no Qt here).

Everything the GUI thread would otherwise compute per refresh is done here: the per-second
rates, the scaling, the arrays ``setData`` takes, the data's vertical extent and the latest
``total`` shown in a title.

Measured (profile of an open dashboard with a full 5-minute window, 1 s collection): most
of its CPU was re-reading and re-bucketing the whole window of every series each second.
So for a window refreshed every tick, :class:`PlotReader` keeps the points it has and asks
the history only for the last few seconds.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import numpy.typing as npt

from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics import Labels

from .plotspec import PlotSpec, curve_name, rate

__all__ = ["CSV_MAX_POINTS", "MAX_POINTS", "OVERLAP_S", "TOTAL_EVERY_S", "Curve", "PlotData",
           "PlotReader", "export_csv"]

MAX_POINTS = 600
#: An incremental read starts this long before the previous one ended: a sample stamped
#: when it was collected can reach the history a little after a read that should have had it.
OVERLAP_S = 15.0
#: How often a plot's ``total`` (memory size) is read again.
TOTAL_EVERY_S = 30.0

Curve = tuple[str, "npt.NDArray[np.float64]", "npt.NDArray[np.float64]"]
_Points = list[tuple[float, float]]


@dataclass(slots=True)
class PlotData:
    """One plot's curves (legend name, x = seconds before now, y in display units), the
    lowest and highest y over them (``inf``/``-inf`` with no data) and the ``total``."""

    curves: list[Curve] = field(default_factory=list)
    lo: float = math.inf
    hi: float = -math.inf
    total: float | None = None


class PlotReader:
    """Reads what ``specs`` draw over the last ``span`` seconds; one read at a time (the
    dashboard submits reads under one runner tag, so they never overlap).

    ``read(..., incremental=True)`` keeps the raw points of every series between reads and
    only fetches the last seconds (from the previous read's end minus :data:`OVERLAP_S`);
    any change of window or of the plotted metrics starts again with a full read. A full
    read merges the window into :data:`MAX_POINTS` buckets per series.
    """

    def __init__(self, history: HistoryStore, *, clock: Callable[[], float] = time.time
                 ) -> None:
        self.history = history
        self._clock = clock
        self._key: object = None
        self._end = 0.0
        self._points: dict[tuple[str, Labels], _Points] = {}
        self._totals: dict[str, tuple[float, float | None]] = {}
        #: History queries made for curves (not totals), for tests and benchmarks.
        self.full_reads = 0
        self.incremental_reads = 0

    def read(self, specs: Sequence[PlotSpec], span: float, *,
             incremental: bool) -> dict[str, PlotData]:
        """Each spec's :class:`PlotData`, keyed by title."""
        end = self._clock()
        key = (span, tuple(s.metrics for s in specs))
        names = list(dict.fromkeys(m for s in specs for m in s.metrics))
        if incremental and key == self._key and end - self._end < span:
            self._fetch_new(names, end, span)
        else:
            self._fetch_all(names, end, span)
        self._key = key if incremental else None
        self._end = end
        return {spec.title: self._plot(spec, end) for spec in specs}

    def _fetch_all(self, names: list[str], end: float, span: float) -> None:
        self.full_reads += 1
        self._points = {}
        for name in names:
            for series in self.history.query(name, start=end - span, end=end,
                                             max_points=MAX_POINTS):
                self._points[(name, series.labels)] = list(series.points)

    def _fetch_new(self, names: list[str], end: float, span: float) -> None:
        self.incremental_reads += 1
        for name in names:
            for series in self.history.query(name, start=self._end - OVERLAP_S, end=end):
                have = self._points.setdefault((name, series.labels), [])
                last = have[-1][0] if have else -math.inf
                have.extend(p for p in series.points if p[0] > last)
        cut = end - span
        for key, pts in list(self._points.items()):
            drop = bisect.bisect_left(pts, (cut, -math.inf))
            if drop:
                del pts[:drop]
            if not pts:
                del self._points[key]

    def _plot(self, spec: PlotSpec, end: float) -> PlotData:
        data = PlotData()
        for index, name in enumerate(spec.metrics):
            for (metric, labels), raw in self._points.items():
                if metric != name:
                    continue
                pts = rate(raw) if spec.rate else raw
                xs = np.fromiter((t - end for t, _v in pts), np.float64, len(pts))
                ys = np.fromiter((v / spec.scale for _t, v in pts), np.float64, len(pts))
                if len(ys):
                    data.lo = min(data.lo, float(ys.min()))
                    data.hi = max(data.hi, float(ys.max()))
                data.curves.append((curve_name(spec, index, labels), xs, ys))
        if spec.total:
            data.total = self._total(spec, end)
        return data

    def _total(self, spec: PlotSpec, end: float) -> float | None:
        when, value = self._totals.get(spec.total, (-math.inf, None))
        if end - when >= TOTAL_EVERY_S or value is None:
            latest = [s.points[-1][1] for s in self.history.query(
                spec.total, start=end - 120, end=end, stat="last", max_points=1) if s.points]
            value = sum(latest) / spec.scale if latest else None
            self._totals[spec.total] = (end, value)
        return value


#: Points per series in a CSV export (buckets merged beyond that, as ``history show``).
CSV_MAX_POINTS = 5000


def export_csv(history: HistoryStore, spec: PlotSpec, span: float, out: TextIO, *,
               end: float | None = None) -> int:
    """Write what ``spec`` plots over the last ``span`` seconds as CSV (``timestamp`` ISO-8601
    UTC, ``series``, ``value`` in the plot's unit, rates for counters; ``unit``); returns the
    number of data lines. Read straight from the history, not from the drawn curves."""
    end = time.time() if end is None else end
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("timestamp", "series", "value", "unit"))
    n = 0
    for index, name in enumerate(spec.metrics):
        for series in history.query(name, start=end - span, end=end,
                                    max_points=CSV_MAX_POINTS):
            pts = rate(list(series.points)) if spec.rate else list(series.points)
            label = curve_name(spec, index, series.labels) or spec.title
            for t, v in pts:
                stamp = dt.datetime.fromtimestamp(t, tz=dt.UTC)
                writer.writerow((stamp.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"), label, f"{v / spec.scale:.6g}", spec.unit))
                n += 1
    return n

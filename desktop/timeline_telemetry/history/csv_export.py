"""CSV export of history rows (for the diagnostics bundle): one line per point."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable
from typing import TextIO

from timeline_telemetry.metrics.model import Labels

from .model import labels_to_json
from .query import Row

__all__ = ["CSV_COLUMNS", "write_csv"]

CSV_COLUMNS = ("timestamp", "name", "labels", "value", "min", "max", "count", "tier")


def write_csv(out: TextIO, series: Iterable[tuple[str, Labels, list[Row]]]) -> int:
    """Write a header and every row; returns the number of data lines.

    ``timestamp`` is ISO-8601 UTC with milliseconds, ``labels`` canonical JSON (unambiguous
    whatever the values contain), ``value`` the sample or bucket average; NaN is ``NaN``
    and infinities ``+Inf``/``-Inf`` as in the Prometheus text format.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for name, labels, rows in series:
        lab = labels_to_json(labels)
        for ts, avg, mn, mx, _last, count, tier in rows:
            writer.writerow([_iso(ts), name, lab, _num(avg), _num(mn), _num(mx), count,
                             tier.value])
            n += 1
    return n


def _iso(ts_ms: float) -> str:
    stamp = dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)

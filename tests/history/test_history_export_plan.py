"""history/export_plan.py: the resolution plan and histogram families summarised as
quantile series in the CSV export."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from timeline_telemetry.history import ExportRange, resolution_plan
from timeline_telemetry.metrics.model import FlatSample

#: The history fixtures' start (tests/history/conftest.py: a 15-minute boundary).
T0 = 1_700_000_000.0 - 1_700_000_000.0 % 900

_LES = ("0.1", "0.5", "1.0", "+Inf")


def test_resolution_plan_full_detail_then_coarse() -> None:
    coarse, full = resolution_plan(0.0, 7200.0, detail_from=5400.0, max_points=720)
    assert full == ExportRange(5400.0, 7200.0, None)
    assert coarse.start == 0.0 and coarse.end < 5400.0 and coarse.max_points == 90
    (only,) = resolution_plan(100.0, 200.0, detail_from=0.0)
    assert only == ExportRange(100.0, 200.0, None)
    assert resolution_plan(0.0, 7200.0, detail_from=3600.0, max_points=10)[0].max_points == 10


def _histogram(ts: float) -> list[FlatSample]:
    """Two observations a second: one of 0.05 s, one of 0.7 s (cumulative buckets)."""
    n = (ts - T0) + 1
    counts = {"0.1": n, "0.5": n, "1.0": 2 * n, "+Inf": 2 * n}
    out = [FlatSample("job_seconds_bucket", (("job", "a"), ("le", le)), counts[le])
           for le in _LES]
    out += [FlatSample("job_seconds_count", (("job", "a"),), 2 * n),
            FlatSample("job_seconds_sum", (("job", "a"),), 0.75 * n),
            FlatSample("gauge", (), ts - T0)]
    return out


def test_export_stitches_ranges_and_summarises_histograms(
    make_store: Any, clock: Any, feed: Any
) -> None:
    store = make_store()
    feed(store, start=T0, end=T0 + 600, step=1.0, samples=_histogram)
    ranges = resolution_plan(T0, T0 + 599, detail_from=T0 + 480, max_points=100)
    out = io.StringIO()
    store.export_csv(out, start=T0, end=T0 + 599, ranges=ranges, summarise_histograms=True)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    names = {r["name"] for r in rows}
    assert names == {"gauge", "job_seconds_count", "job_seconds_sum", "job_seconds_p50",
                     "job_seconds_p95"}
    gauge = [r for r in rows if r["name"] == "gauge"]
    full = [r for r in gauge if r["count"] == "1"]
    assert len(full) == 120  # every second of the last 2 minutes
    assert [float(r["value"]) for r in full] == [float(i) for i in range(480, 600)]
    assert len(gauge) - len(full) == 8  # 1-minute buckets before
    assert all(int(r["count"]) == 60 for r in gauge[:8])
    p50 = [r for r in rows if r["name"] == "job_seconds_p50"]
    p95 = [r for r in rows if r["name"] == "job_seconds_p95"]
    assert p50 and p95 and p50[0]["labels"] == '{"job":"a"}'
    # half the observations are <= 0.1: the median is at the top of the first bucket
    assert all(math.isclose(float(r["value"]), 0.1) for r in p50 if r["count"] == "2")
    # p95: 90 % of the way through the (0.5, 1.0] bucket
    assert all(math.isclose(float(r["value"]), 0.95) for r in p95)
    assert not any("le" in r["labels"] for r in rows)


def test_without_summary_buckets_are_kept(make_store: Any, feed: Any) -> None:
    store = make_store()
    feed(store, start=T0, end=T0 + 10, step=1.0, samples=_histogram)
    out = io.StringIO()
    store.export_csv(out, start=T0, end=T0 + 10)
    assert "job_seconds_bucket" in out.getvalue() and "_p50" not in out.getvalue()

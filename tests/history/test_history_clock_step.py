"""A detected wall-clock step (``hold_maintenance``): retention never prunes on the jumped
clock. (The stamps come from the runtime's step-corrected clock: tests/runtime/test_clock.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from timeline_telemetry.metrics.model import FlatSample


def g(value: float) -> list[FlatSample]:
    return [FlatSample("g", (), value)]


def raw_stamps(path: Path) -> list[float]:
    with sqlite3.connect(path) as conn:
        return [ts / 1000 for (ts,) in conn.execute("SELECT ts FROM samples_raw ORDER BY ts")]


@pytest.mark.parametrize("detected", [True, False])
def test_a_step_ahead_is_corrected_and_prunes_nothing(make_store, clock, tmp_path,
                                                       detected: bool) -> None:
    store = make_store(retention=4 * 3600, raw_retention=600, minute_retention=3600)
    t0 = clock.now
    for i in range(60):  # the minute before the step
        clock.now = t0 + i
        store.append(clock.now, g(i))
        store.flush()
    # The store's clock jumps an hour ahead for a minute; the runtime detected it (and
    # stamps with its corrected clock).
    if detected:
        store.hold_maintenance(True)
    for i in range(60, 120):
        clock.now = t0 + i + 3600
        store.append(t0 + i if detected else clock.now, g(i))
        store.flush()
    store.hold_maintenance(False)
    clock.now = t0 + 121
    store.append(clock.now, g(121))
    store.flush()
    stamps = raw_stamps(tmp_path / "history.sqlite3")
    if not detected:  # what the issue saw: the minute before the step pruned, stamps ahead
        assert stamps[0] > t0 + 59 and max(stamps) > t0 + 3600
        return
    assert stamps[0] == t0  # the minute before the step is still there
    assert max(stamps) == t0 + 121  # nothing stamped an hour ahead
    assert len(stamps) == 121
    [series] = store.query("g", start=t0, end=t0 + 200)
    assert len(series.points) == 121


def test_where_raw_points_are_gone_the_rollups_fill_in(make_store, clock, tmp_path) -> None:
    """Raw points deleted within the raw retention (by an earlier version on a jumped clock,
    or a restored file): the query shows the 1-minute buckets there, not a hole."""
    store = make_store(retention=4 * 3600, raw_retention=3600, minute_retention=3 * 3600)
    t0 = clock.now
    for i in range(0, 20 * 60, 10):  # twenty minutes, a sample every 10 s
        clock.now = t0 + i
        store.append(clock.now, g(float(i)))
        store.flush()
    store.maintain(force=True)
    lost_until = t0 + 12 * 60 + 30
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        conn.execute("DELETE FROM samples_raw WHERE ts < ?", (round(lost_until * 1000),))
    [series] = store.query("g", start=t0, end=clock.now)
    stamps = [ts for ts, _ in series.points]
    assert stamps[0] == t0  # the first minute, from its bucket
    minutes = [ts for ts in stamps if ts < t0 + 12 * 60]
    assert minutes == [t0 + 60 * m for m in range(12)]  # one point per lost minute
    assert [v for ts, v in series.points if ts == t0 + 60] == [pytest.approx(85.0)]
    assert stamps == sorted(set(stamps))  # stitched without overlap
    assert min(ts for ts in stamps if ts >= t0 + 12 * 60) == t0 + 13 * 60 - 30  # raw again

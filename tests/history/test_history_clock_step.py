"""A detected wall-clock step (``set_clock_offset``): samples are stamped with corrected
time and retention never prunes on the jumped clock."""

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
    # The wall clock jumps an hour ahead for a minute; the runtime detected it.
    if detected:
        store.set_clock_offset(3600.0)
    for i in range(60, 120):
        clock.now = t0 + i + 3600
        store.append(clock.now, g(i))
        store.flush()
    store.set_clock_offset(0.0)
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

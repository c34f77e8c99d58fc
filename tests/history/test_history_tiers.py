"""Rollups, tier stitching, output downsampling and retention, driven by a fake clock."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import sqlite3
from pathlib import Path

import pytest

from timeline_telemetry.history import HistoryStore, Stat, Tier
from timeline_telemetry.metrics.model import FlatSample

WIDTH = {"raw": None, "1m": 60.0, "15m": 900.0}


def g(value: float, name: str = "g") -> list[FlatSample]:
    return [FlatSample(name, (), value)]


def exported(store: HistoryStore, start: float, end: float, **kw: int) -> list[dict[str, str]]:
    out = io.StringIO()
    store.export_csv(out, start=start, end=end, **kw)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def tier_bounds(path: Path, table: str) -> tuple[float, float] | tuple[None, None]:
    with sqlite3.connect(path) as conn:
        lo, hi = conn.execute(f"SELECT min(ts), max(ts) FROM {table}").fetchone()
    return (None, None) if lo is None else (lo / 1000, hi / 1000)


def test_rollup_values_match_a_hand_computation(make_store, clock, tmp_path) -> None:
    store = make_store()
    t0 = clock.now
    raw = [
        (0, 1.0), (10, 5.0), (20, math.nan), (50, 3.0),  # minute 0: avg 3, min 1, max 5
        (60, 10.0),  # minute 1
        (130, 4.0), (170, 8.0),  # minute 2: avg 6
    ]
    for dt_, v in raw:
        store.append(t0 + dt_, g(v))
    store.flush()
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM samples_1m").fetchone()[0] == 0  # batched
    clock.now = t0 + 20 * 60
    store.flush()  # nothing buffered: just the maintenance step

    def tier_values(tier: Tier, stat: Stat) -> list[tuple[float, float]]:
        (s,) = store.query("g", start=t0, end=clock.now, tier=tier, stat=stat)
        return s.points

    assert tier_values(Tier.MINUTE, Stat.AVG) == [(t0, 3.0), (t0 + 60, 10.0), (t0 + 120, 6.0)]
    assert tier_values(Tier.MINUTE, Stat.MIN) == [(t0, 1.0), (t0 + 60, 10.0), (t0 + 120, 4.0)]
    assert tier_values(Tier.MINUTE, Stat.MAX) == [(t0, 5.0), (t0 + 60, 10.0), (t0 + 120, 8.0)]
    assert tier_values(Tier.MINUTE, Stat.LAST) == [(t0, 3.0), (t0 + 60, 10.0), (t0 + 120, 8.0)]
    (q_avg,) = tier_values(Tier.QUARTER, Stat.AVG)
    assert q_avg == (t0, pytest.approx((1 + 5 + 3 + 10 + 4 + 8) / 6))
    assert tier_values(Tier.QUARTER, Stat.MIN) == [(t0, 1.0)]
    assert tier_values(Tier.QUARTER, Stat.MAX) == [(t0, 10.0)]
    assert tier_values(Tier.QUARTER, Stat.LAST) == [(t0, 8.0)]
    counts = [(r["tier"], r["count"]) for r in exported(store, t0, clock.now)
              if r["tier"] != "raw"]
    assert counts == []  # raw still covers this recent range: tiers are not mixed in
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        assert conn.execute("SELECT ts, count FROM samples_1m ORDER BY ts").fetchall() == [
            (t0 * 1000, 3), ((t0 + 60) * 1000, 1), ((t0 + 120) * 1000, 2),
        ]
        assert conn.execute("SELECT count FROM samples_15m").fetchall() == [(6,)]


def test_all_nan_bucket_rolls_up_to_nan(make_store, clock) -> None:
    store = make_store()
    t0 = clock.now
    store.append(t0, g(math.nan))
    store.flush()
    clock.now = t0 + 3600
    store.maintain(force=True)
    (s,) = store.query("g", start=t0, end=t0, tier=Tier.MINUTE)
    assert math.isnan(s.points[0][1])


def test_late_samples_are_rolled_up_again(make_store, clock, feed) -> None:
    store = make_store()
    t0 = clock.now
    feed(store, start=t0, end=t0 + 20 * 60, step=10, samples=lambda ts: g(1.0))
    (before,) = store.query("g", start=t0 + 60, end=t0 + 60, tier=Tier.MINUTE)
    assert before.points == [(t0 + 60, 1.0)]
    store.append(t0 + 65, g(7.0))  # arrives late, in an already rolled minute
    store.flush()
    store.maintain(force=True)
    (after,) = store.query("g", start=t0 + 60, end=t0 + 60, tier=Tier.MINUTE)
    assert after.points == [(t0 + 60, pytest.approx((6 * 1.0 + 7.0) / 7))]
    (q,) = store.query("g", start=t0, end=t0, tier=Tier.QUARTER, stat="max")
    assert q.points == [(t0, 7.0)]


def test_stitching_covers_the_range_once(make_store, clock, feed, tmp_path) -> None:
    store = make_store(retention=4 * 3600, raw_retention=600, minute_retention=3600)
    t0 = clock.now
    feed(store, start=t0, end=t0 + 7200, step=10, samples=lambda ts: g(ts - t0))
    now = clock.now
    rows = exported(store, t0, now)
    tiers = [r["tier"] for r in rows]
    # Oldest part from 15-minute buckets, then 1-minute, then raw: in that order, each once.
    assert tiers == sorted(tiers, key=["15m", "1m", "raw"].index)
    assert {"15m", "1m", "raw"} == set(tiers)
    stamps = [epoch(r["timestamp"]) for r in rows]
    assert stamps[0] == t0
    assert stamps[-1] == now
    for (ts, r), nxt in zip(zip(stamps, rows, strict=True), stamps[1:], strict=False):
        width = WIDTH[r["tier"]] or 10.0
        assert nxt == ts + width, f"gap or overlap after {r}"
        # A bucket's average of v(ts) = ts - t0 sampled every 10 s is its middle sample.
        expect = ts - t0 + (width - 10) / 2
        assert float(r["value"]) == pytest.approx(expect)
    # The raw part reaches back at least raw_retention; the 1m part at least an hour.
    first_raw = stamps[tiers.index("raw")]
    first_1m = stamps[tiers.index("1m")]
    assert first_raw <= now - 600
    assert first_1m <= now - 3600
    # query() returns the same points as the export.
    (s,) = store.query("g", start=t0, end=now)
    assert [p[0] for p in s.points] == stamps
    (raw_only,) = store.query("g", start=t0, end=now, tier=Tier.RAW)
    assert raw_only.points[0][0] >= first_raw - 11 * 60  # raw kept only until rolled up


def test_max_points_buckets(make_store, clock, feed) -> None:
    store = make_store(retention=4 * 3600, raw_retention=600, minute_retention=3600)
    t0 = clock.now
    feed(store, start=t0, end=t0 + 7200, step=10, samples=lambda ts: g(ts - t0))
    end = t0 + 7200
    for stat, offset in ((Stat.AVG, 895.0), (Stat.MIN, 0.0), (Stat.MAX, 1790.0)):
        (s,) = store.query("g", start=t0, end=end, max_points=4, stat=stat)
        assert [v for _, v in s.points] == [
            pytest.approx(1800 * i + offset) for i in range(4)
        ], stat
        for i, (ts, _) in enumerate(s.points):
            assert t0 + 1800 * i <= ts < t0 + 1800 * (i + 1)
    # 30-minute output buckets may be built from 15-minute rows as far as they are rolled up.
    coarse = exported(store, t0, end, max_points_per_series=4)
    assert [r["tier"] for r in coarse][:2] == ["15m", "15m"]
    assert [int(r["count"]) for r in coarse] == [180] * 4
    (few,) = store.query("g", start=t0, end=end, max_points=1000)
    assert len(few.points) <= 1000
    (exact,) = store.query("g", start=end - 60, end=end, max_points=1000)
    assert len(exact.points) == 6  # fewer points than asked: returned as they are


def test_retention_prunes_every_tier_and_forgets_dead_series(make_store, clock, feed,
                                                             tmp_path) -> None:
    store = make_store(retention=2 * 3600, raw_retention=600, minute_retention=3600)
    t0 = clock.now

    def samples(ts: float) -> list[FlatSample]:
        out = g(1.0, "live")
        if ts < t0 + 1800:
            out += g(2.0, "gone")
        return out

    feed(store, start=t0, end=t0 + 5 * 3600, step=30, samples=samples)
    now = clock.now
    db = tmp_path / "history.sqlite3"
    raw_lo, _ = tier_bounds(db, "samples_raw")
    m_lo, _ = tier_bounds(db, "samples_1m")
    q_lo, _ = tier_bounds(db, "samples_15m")
    assert raw_lo is not None and m_lo is not None and q_lo is not None
    # Each tier holds its retention, plus at most one batching/pruning period.
    assert now - 600 - 12 * 60 <= raw_lo <= now - 600
    assert now - 3600 - 3 * 900 <= m_lo <= now - 3600
    assert now - 7200 - 3600 - 900 <= q_lo <= now - 7200
    assert store.names() == ["live"]
    (live,) = store.query("live", start=t0, end=now)
    assert live.points[0][0] <= now - 7200
    assert store.query("gone", start=t0, end=now) == []
    span = store.time_range()
    assert span is not None and span[0] == q_lo


def test_a_long_gap_is_skipped(make_store, clock, feed) -> None:
    store = make_store()
    t0 = clock.now
    feed(store, start=t0, end=t0 + 3600, step=30, samples=lambda ts: g(1.0))
    later = t0 + 3 * 86400
    feed(store, start=later, end=later + 3600, step=30, samples=lambda ts: g(2.0))
    clock.now = later + 3 * 3600
    for _ in range(5):
        store.flush()
    (s,) = store.query("g", start=t0, end=clock.now)
    values = {v for _, v in s.points}
    assert values == {1.0, 2.0}
    (q,) = store.query("g", start=t0, end=clock.now, tier=Tier.QUARTER)
    assert [v for _, v in q.points] == [1.0] * 4 + [2.0] * 4


def test_a_shorter_retention_prunes_the_backlog_in_steps(make_store, clock, feed,
                                                         tmp_path) -> None:
    def samples(ts: float) -> list[FlatSample]:
        return [FlatSample("s", (("i", str(i)),), float(i)) for i in range(40)]

    long = make_store(retention=7 * 86400)
    t0 = clock.now
    end = feed(long, start=t0, end=t0 + 2 * 86400, step=120, samples=samples)
    long.close()
    db = tmp_path / "history.sqlite3"
    with sqlite3.connect(db) as conn:
        before = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    now = t0 + end * 120
    short = make_store(retention=3600)
    feed(short, start=now, end=now + 3 * 3600, step=120, samples=samples)
    now = clock.now
    # Each tier within its retention plus its pruning period (15 min for 1m, 1 h for 15m).
    for table, keep in (("samples_raw", 3600 + 12 * 60), ("samples_1m", 3600 + 2 * 900),
                        ("samples_15m", 3600 + 3600 + 900)):
        lo, _ = tier_bounds(db, table)
        assert lo is not None and lo >= now - keep, table
    with sqlite3.connect(db) as conn:
        after = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert after <= before  # freed pages are reused, the file does not grow
    (s,) = short.query("s", {"i": "3"}, start=t0, end=now)
    assert s.points[0][0] >= now - 3600 - 3600 - 900

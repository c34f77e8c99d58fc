"""Reading a range: which tier serves which part of it, the SQL, and output downsampling.

A range is served by stitching tiers without overlap: 15-minute buckets for the oldest
part, 1-minute buckets next, raw samples for the most recent part. With ``max_points``,
a tier at least as fine as the output buckets is used as far as it is rolled up, so a
7-day plot reads ~700 rows per series instead of ten thousand.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Tier

__all__ = ["Buckets", "Row", "Segment", "fetch", "fetch_buckets", "plan"]

#: ``(ts_ms, avg, min, max, last, count, tier)``; NaN for NULL; a raw sample is
#: ``(ts, v, v, v, v, 1, RAW)`` (count 0 when it is NaN).
Row = tuple[float, float, float, float, float, int, Tier]

_NAN = math.nan
_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Segment:
    """Read ``tier`` rows whose timestamp (bucket start) is in ``[lo, hi)`` (ms)."""

    tier: Tier
    lo: float
    hi: float


def plan(
    start_ms: float,
    end_ms: float,
    *,
    horizons: tuple[float, float],
    watermarks: tuple[int | None, int | None],
    bucket_ms: float | None,
    tier: Tier | None,
) -> list[Segment]:
    """The segments, oldest first, that together cover ``[start_ms, end_ms]`` exactly once.

    ``horizons`` are ``(minute_from, raw_from)`` from the maintenance rules, ``watermarks``
    ``(wm1, wm15)``. ``bucket_ms`` (output bucket width) allows a tier of at most that
    resolution to be used up to its watermark. ``tier`` forces one tier alone.
    """
    hi = end_ms + 1  # the range is inclusive of end
    if tier is not None:
        return [Segment(tier, start_ms, hi)] if start_ms < hi else []
    wm1, wm15 = watermarks
    minute_from, raw_from = horizons
    if wm1 is not None and wm15 is not None and bucket_ms is not None:
        if bucket_ms >= Tier.MINUTE.width_ms:
            raw_from = float(wm1)
        if bucket_ms >= Tier.QUARTER.width_ms:
            minute_from = float(wm15)
    cuts = [
        (Tier.QUARTER, -math.inf, minute_from),
        (Tier.MINUTE, minute_from, raw_from),
        (Tier.RAW, raw_from, math.inf),
    ]
    out = []
    for t, seg_lo, seg_hi in cuts:
        lo, up = max(seg_lo, start_ms), min(seg_hi, hi)
        if lo < up:
            out.append(Segment(t, lo, up))
    return out


def fetch(
    conn: sqlite3.Connection, ids: Sequence[int], segments: Iterable[Segment]
) -> dict[int, list[Row]]:
    """Rows per series id, in time order, for the segments (run in one read transaction)."""
    out: dict[int, list[Row]] = {sid: [] for sid in ids}
    if not ids:
        return out
    for seg in segments:
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i : i + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            if seg.tier is Tier.RAW:
                # Clustered by time: scan the range once, ordered as stored.
                cur = conn.execute(
                    f"SELECT series_id, ts, value FROM samples_raw WHERE ts >= ? AND ts < ?"
                    f" AND series_id IN ({marks}) ORDER BY ts, series_id",
                    (_sql_bound(seg.lo), _sql_bound(seg.hi), *chunk),
                )
                for sid, ts, v in cur:
                    if v is None:
                        out[sid].append((ts, _NAN, _NAN, _NAN, _NAN, 0, Tier.RAW))
                    else:
                        out[sid].append((ts, v, v, v, v, 1, Tier.RAW))
            else:
                cur = conn.execute(
                    f"SELECT series_id, ts, avg, min, max, last, count FROM {seg.tier.table}"
                    f" WHERE series_id IN ({marks}) AND ts >= ? AND ts < ?"
                    " ORDER BY series_id, ts",
                    (*chunk, _sql_bound(seg.lo), _sql_bound(seg.hi)),
                )
                tier = seg.tier
                for sid, ts, a, mn, mx, last, n in cur:
                    if a is None or mn is None or mx is None or last is None:
                        out[sid].append((ts, _f(a), _f(mn), _f(mx), _f(last), n, tier))
                    else:
                        out[sid].append((ts, a, mn, mx, last, n, tier))
    return out


@dataclass(frozen=True, slots=True)
class Buckets:
    """Output bucketing: ``count`` equal buckets of ``width_ms`` from ``start_ms``."""

    start_ms: float
    width_ms: float
    count: int


# Per (series, bucket): ts_sum, rows, value_sum, weight, min, max, last of the newest row.
_BUCKET_SQL = {
    Tier.RAW: """
SELECT g.series_id, g.b, g.ts_sum, g.n, g.vs, g.ws, g.mn, g.mx,
       (SELECT r.value FROM samples_raw r WHERE r.ts = g.lt AND r.series_id = g.series_id)
FROM (SELECT series_id, min(CAST((ts - ?) / ? AS INTEGER), ?) AS b, sum(ts) AS ts_sum,
             count(*) AS n, sum(value) AS vs, count(value) AS ws, min(value) AS mn,
             max(value) AS mx, max(ts) AS lt
      FROM samples_raw WHERE ts >= ? AND ts < ? AND series_id IN ({marks})
      GROUP BY series_id, b) AS g
ORDER BY g.series_id, g.b""",
    **{
        tier: f"""
SELECT g.series_id, g.b, g.ts_sum, g.n, g.vs, g.ws, g.mn, g.mx,
       (SELECT m.last FROM {tier.table} m WHERE m.series_id = g.series_id AND m.ts = g.lt)
FROM (SELECT series_id, min(CAST((ts - ?) / ? AS INTEGER), ?) AS b, sum(ts) AS ts_sum,
             count(*) AS n, sum(CASE WHEN avg IS NOT NULL THEN avg * count END) AS vs,
             sum(CASE WHEN avg IS NOT NULL THEN count ELSE 0 END) AS ws,
             min(min) AS mn, max(max) AS mx, max(ts) AS lt
      FROM {tier.table} WHERE ts >= ? AND ts < ? AND series_id IN ({{marks}})
      GROUP BY series_id, b) AS g
ORDER BY g.series_id, g.b"""
        for tier in (Tier.MINUTE, Tier.QUARTER)
    },
}

_RANK = {Tier.RAW: 0, Tier.MINUTE: 1, Tier.QUARTER: 2}


def fetch_buckets(
    conn: sqlite3.Connection, ids: Sequence[int], segments: Iterable[Segment], buckets: Buckets
) -> dict[int, list[Row]]:
    """Like :func:`fetch`, merged into ``buckets`` by SQLite (a plot's 500 points from 10 000
    rows without a Python loop over the rows).

    A bucket's avg is the count-weighted mean, min/max/last combine as their names say
    (NaN skipped), its timestamp is the mean of its rows' timestamps (a plot never draws a
    point where there was no data) and its tier the coarsest that went into it.
    """
    acc: dict[int, dict[int, list[float]]] = {sid: {} for sid in ids}
    for seg in segments:
        rank = float(_RANK[seg.tier])
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i : i + _ID_CHUNK]
            sql = _BUCKET_SQL[seg.tier].format(marks=",".join("?" * len(chunk)))
            params = (
                buckets.start_ms, buckets.width_ms, buckets.count - 1,
                _sql_bound(seg.lo), _sql_bound(seg.hi), *chunk,
            )
            for sid, b, ts_sum, n, vs, ws, mn, mx, last in conn.execute(sql, params):
                cell = acc[sid].get(b)
                new = [ts_sum, n, vs or 0.0, ws, _f(mn), _f(mx), _f(last), rank]
                if cell is None:
                    acc[sid][b] = new
                else:  # a bucket straddling two tiers: a few per query at most
                    _combine(cell, new)
    tiers = (Tier.RAW, Tier.MINUTE, Tier.QUARTER)
    return {
        sid: [
            (c[0] / c[1], c[2] / c[3] if c[3] else _NAN, c[4], c[5], c[6], int(c[3]),
             tiers[int(c[7])])
            for c in by_bucket.values()
        ]
        for sid, by_bucket in acc.items()
    }


def _combine(cell: list[float], new: list[float]) -> None:
    """Merge ``new`` (later in time) into ``cell``."""
    for k in range(4):
        cell[k] += new[k]
    if not math.isnan(new[4]) and not new[4] >= cell[4]:
        cell[4] = new[4]
    if not math.isnan(new[5]) and not new[5] <= cell[5]:
        cell[5] = new[5]
    cell[6] = new[6]
    cell[7] = max(cell[7], new[7])


def _f(v: float | None) -> float:
    return _NAN if v is None else float(v)


def _sql_bound(v: float) -> float | int:
    if v == math.inf:
        return 2**62
    if v == -math.inf:
        return -(2**62)
    return v

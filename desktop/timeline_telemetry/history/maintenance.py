"""Rollups into the 1-minute and 15-minute tiers, and pruning, in small bounded steps.

Two watermarks, stored in the ``meta`` table, say how far each tier is complete:
``wm1`` (every 1-minute bucket starting before it is rolled up from raw) and ``wm15``
(the same for 15-minute buckets, rolled up from the 1-minute tier). Rollups only ever read
``[watermark, closed boundary)``, so no step rescans old data. Samples written late (before
``wm1``) pull the watermarks back and their buckets are recomputed (``INSERT OR REPLACE``).

Pruning never deletes what is not rolled up yet: raw rows go below
``min(floor_1m(now - raw retention), wm1)``, 1-minute rows below
``min(floor_15m(now - minute retention), wm15)``. Hence :func:`horizons` (what queries may
rely on) follows from the watermarks and the clock alone, in any process.

Every step is bounded: at most an hour of raw rolled, ``_RAW_DELETE_BATCH`` raw rows and
about ``_ROW_BUDGET`` rows per tier deleted, ``_VACUUM_PAGES`` pages given back to the OS.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from .model import Tier

__all__ = ["MINUTE_MS", "QUARTER_MS", "Maintainer", "Retention", "horizons", "read_watermarks"]

MINUTE_MS = Tier.MINUTE.width_ms
QUARTER_MS = Tier.QUARTER.width_ms

#: 1-minute buckets are written in batches of at least this much time: the tiers are
#: clustered by series, so each rollup touches one page per series; batching keeps the
#: WAL traffic low. Queries read raw samples for the not-yet-rolled part, so nothing is lost.
_ROLLUP_LAG_MS = 10 * MINUTE_MS
_ROLLUP_CHUNK_MS = 60 * MINUTE_MS
_QUARTER_CHUNK_MS = 24 * 60 * MINUTE_MS
_RAW_DELETE_BATCH = 5000
#: How often a flush runs a maintenance step when the last one finished its work.
STEP_EVERY_MS = 10_000
_ROW_BUDGET = 5000
_SERIES_PER_PRUNE_STEP = 128
_PRUNE_EVERY_MS = {Tier.MINUTE: 15 * MINUTE_MS, Tier.QUARTER: 60 * MINUTE_MS}
_VACUUM_THRESHOLD_PAGES = 1024
_VACUUM_PAGES = 256

_ROLLUP_1M = """
INSERT OR REPLACE INTO samples_1m(series_id, ts, avg, min, max, last, count)
SELECT g.series_id, g.b, g.a, g.mn, g.mx,
       (SELECT r.value FROM samples_raw r WHERE r.ts = g.lt AND r.series_id = g.series_id),
       g.c
FROM (SELECT series_id, ts - ts % 60000 AS b, avg(value) AS a, min(value) AS mn,
             max(value) AS mx, max(ts) AS lt, count(value) AS c
      FROM samples_raw WHERE ts >= ?1 AND ts < ?2
      GROUP BY series_id, b) AS g
"""

_ROLLUP_15M = """
INSERT OR REPLACE INTO samples_15m(series_id, ts, avg, min, max, last, count)
SELECT g.series_id, g.b, g.a, g.mn, g.mx,
       (SELECT m.last FROM samples_1m m WHERE m.series_id = g.series_id AND m.ts = g.lt),
       g.c
FROM (SELECT series_id, ts - ts % 900000 AS b, sum(avg * count) / sum(count) AS a,
             min(min) AS mn, max(max) AS mx, max(ts) AS lt, sum(count) AS c
      FROM samples_1m WHERE series_id IN (SELECT id FROM series) AND ts >= ?1 AND ts < ?2
      GROUP BY series_id, b) AS g
"""


def floor_to(ts: int, width: int) -> int:
    """``ts`` rounded down to a multiple of ``width`` (both in ms)."""
    return ts - ts % width


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each tier is kept, in milliseconds; always raw <= minute <= quarter."""

    raw_ms: int
    minute_ms: int
    quarter_ms: int

    @classmethod
    def from_seconds(
        cls, retention: float, raw_retention: float, minute_retention: float
    ) -> Retention:
        """Raw kept ``min(raw_retention, retention)``, 1-minute ``min(minute_retention,
        retention)`` (at least as long as raw), 15-minute for the whole ``retention``."""
        for label, v in (
            ("retention", retention),
            ("raw_retention", raw_retention),
            ("minute_retention", minute_retention),
        ):
            if not v > 0:
                raise ValueError(f"history {label} must be a positive duration, got {v!r}")
        raw = min(raw_retention, retention)
        minute = min(max(minute_retention, raw), retention)
        return cls(round(raw * 1000), round(minute * 1000), round(retention * 1000))


def read_watermarks(conn: sqlite3.Connection) -> tuple[int | None, int | None]:
    """``(wm1, wm15)`` as stored; ``None`` before anything was written."""
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('wm1', 'wm15')"))
    wm1, wm15 = rows.get("wm1"), rows.get("wm15")
    return (None if wm1 is None else int(wm1), None if wm15 is None else int(wm15))


def read_oldest_raw(conn: sqlite3.Connection) -> int | None:
    """The oldest raw sample's timestamp (ms), None for an empty tier: one step down the
    time-first primary key, cheap enough for every query."""
    row = conn.execute("SELECT ts FROM samples_raw ORDER BY ts LIMIT 1").fetchone()
    return None if row is None else int(row[0])


def horizons(
    now_ms: int, retention: Retention, wm1: int | None, wm15: int | None,
    oldest_raw: int | None = None,
) -> tuple[float, float]:
    """``(minute_from, raw_from)``: the 1-minute tier is complete from ``minute_from`` up
    to ``wm1`` and raw samples are complete from ``raw_from`` on (before the watermarks
    exist everything is raw, so both are ``-inf``).

    ``oldest_raw`` (:func:`read_oldest_raw`) moves the raw horizon forward where raw points
    start later than the raw retention says (deleted by an earlier version on a jumped
    clock, a file restored from a backup): that part is read from the 1-minute rollups
    instead of showing a hole where they still are. (The rollup tiers are keyed by series
    first, so their oldest bucket would cost a scan: they are not checked.)"""
    if wm1 is None or wm15 is None:
        return (float("-inf"), float("-inf"))
    raw_from = min(floor_to(now_ms - retention.raw_ms, MINUTE_MS), wm1)
    minute_from = min(floor_to(now_ms - retention.minute_ms, QUARTER_MS), wm15)
    if oldest_raw is not None:
        raw_from = max(raw_from, min(floor_to(oldest_raw, MINUTE_MS), wm1))
    return (float(minute_from), float(raw_from))


@dataclass(slots=True)
class _PrunePass:
    """A walk over the series ids deleting one tier's expired rows, a few series a step."""

    every_ms: int
    done_cutoff: int | None = None
    cutoff: int | None = None
    next_id: int = 0


class Maintainer:
    """Runs rollups and pruning on the writer connection; the caller holds the write lock.

    ``on_series_deleted`` is called (after commit) with the ids of series whose data has
    all expired and which were removed from the ``series`` table.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        retention: Retention,
        on_series_deleted: Callable[[list[int]], None],
    ) -> None:
        self._conn = conn
        self.retention = retention
        self._on_deleted = on_series_deleted
        self.wm1, self.wm15 = read_watermarks(conn)
        self._passes = {t: _PrunePass(ms) for t, ms in _PRUNE_EVERY_MS.items()}
        #: The last step stopped at one of its bounds: the next one should not wait.
        self.behind = False
        self._last_step_ms: int | None = None

    def due(self, now_ms: int) -> bool:
        """Whether a step is worth running at ``now_ms``: every ``STEP_EVERY_MS`` of the
        history's clock, at once while behind (or when the clock went back). Rollups wait
        for closed minutes and pruning for 15-minute passes, so a step on each one-second
        flush only spent a write transaction and eight statements finding nothing to do."""
        last = self._last_step_ms
        return (self.behind or last is None or now_ms < last
                or now_ms - last >= STEP_EVERY_MS)

    def reload(self) -> None:
        """Re-read the watermarks after a rolled-back transaction."""
        self.wm1, self.wm15 = read_watermarks(self._conn)

    def too_old_before(self, now_ms: int) -> int:
        """Samples older than this are dropped: their raw bucket may already be pruned."""
        return floor_to(now_ms - self.retention.raw_ms, MINUTE_MS)

    def note_written(self, min_ts: int) -> None:
        """Inside the write transaction: samples from ``min_ts`` on were just stored."""
        self.reload()
        if self.wm1 is not None and min_ts >= self.wm1:
            return
        wm1 = floor_to(min_ts, MINUTE_MS)
        wm15 = floor_to(wm1, QUARTER_MS)
        if self.wm15 is not None:
            wm15 = min(wm15, self.wm15)
        self._save(wm1, wm15)

    def step(self, now_ms: int, *, force: bool = False) -> None:
        """One bounded round of rollup and pruning in its own transaction.

        ``force`` rolls up every closed minute now instead of waiting for a batch.
        """
        conn = self._conn
        self._last_step_ms, self.behind = now_ms, False
        conn.execute("BEGIN IMMEDIATE")
        try:
            self.reload()  # another process may have moved them
            self._rollup_minutes(now_ms, force=force)
            self._rollup_quarters()
            self._prune_raw(now_ms)
            deleted = self._prune_tiers(now_ms)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self.reload()
            raise
        if deleted:
            self._on_deleted(deleted)
        self._vacuum()

    # -- rollups ---------------------------------------------------------------------------
    def _rollup_minutes(self, now_ms: int, *, force: bool) -> None:
        if self.wm1 is None or self.wm15 is None:
            return
        closed = floor_to(now_ms, MINUTE_MS)
        lag = MINUTE_MS if force else _ROLLUP_LAG_MS
        if closed - self.wm1 < lag:
            return
        start = self.wm1
        nxt = self._conn.execute(
            "SELECT ts FROM samples_raw WHERE ts >= ? ORDER BY ts LIMIT 1", (start,)
        ).fetchone()
        if nxt is None or nxt[0] >= closed:  # nothing to roll: skip the gap
            self._save(closed, self.wm15)
            return
        start = max(start, floor_to(int(nxt[0]), MINUTE_MS))
        end = min(closed, start + _ROLLUP_CHUNK_MS)
        self._conn.execute(_ROLLUP_1M, (start, end))
        self._save(end, self.wm15)
        self.behind |= end < closed

    def _rollup_quarters(self) -> None:
        if self.wm1 is None or self.wm15 is None:
            return
        closed = floor_to(self.wm1, QUARTER_MS)
        start = self.wm15
        if closed <= start:
            return
        if closed - start > _QUARTER_CHUNK_MS:
            nxt = self._conn.execute(
                "SELECT min(ts) FROM samples_1m WHERE series_id IN (SELECT id FROM series)"
                " AND ts >= ?",
                (start,),
            ).fetchone()[0]
            if nxt is None or nxt >= closed:
                self._save(self.wm1, closed)
                return
            start = max(start, floor_to(int(nxt), QUARTER_MS))
        end = min(closed, start + _QUARTER_CHUNK_MS)
        self._conn.execute(_ROLLUP_15M, (start, end))
        self._save(self.wm1, end)
        self.behind |= end < closed

    # -- pruning ---------------------------------------------------------------------------
    def _prune_raw(self, now_ms: int) -> None:
        cutoff = floor_to(now_ms - self.retention.raw_ms, MINUTE_MS)
        if self.wm1 is not None:
            cutoff = min(cutoff, self.wm1)
        row = self._conn.execute(
            "SELECT ts FROM samples_raw WHERE ts < ? ORDER BY ts LIMIT 1 OFFSET ?",
            (cutoff, _RAW_DELETE_BATCH),
        ).fetchone()
        limit = cutoff if row is None else int(row[0])
        self._conn.execute("DELETE FROM samples_raw WHERE ts < ?", (limit,))
        self.behind |= row is not None

    def _prune_tiers(self, now_ms: int) -> list[int]:
        minute_cut = floor_to(now_ms - self.retention.minute_ms, QUARTER_MS)
        if self.wm15 is not None:
            minute_cut = min(minute_cut, self.wm15)
        self._prune_tier(Tier.MINUTE, minute_cut)
        quarter_cut = floor_to(now_ms - self.retention.quarter_ms, QUARTER_MS)
        if self._prune_tier(Tier.QUARTER, quarter_cut):
            return self._delete_dead_series()
        return []

    def _prune_tier(self, tier: Tier, cutoff: int) -> bool:
        """Advance the tier's pass by one step; True when a pass just completed.

        A step prunes up to ``_SERIES_PER_PRUNE_STEP`` series and stops early once it has
        deleted ``_ROW_BUDGET`` rows (after a retention cut, a series may hold days).
        """
        p = self._passes[tier]
        if p.cutoff is None:
            if p.done_cutoff is not None and cutoff - p.done_cutoff < p.every_ms:
                return False
            p.cutoff, p.next_id = cutoff, 0
        conn = self._conn
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM series WHERE id >= ? ORDER BY id LIMIT ?",
                (p.next_id, _SERIES_PER_PRUNE_STEP),
            )
        ]
        before = conn.total_changes
        sql = f"DELETE FROM {tier.table} WHERE series_id = ? AND ts < ?"
        for sid in ids:
            conn.execute(sql, (sid, p.cutoff))
            p.next_id = sid + 1
            if conn.total_changes - before >= _ROW_BUDGET:
                self.behind = True
                return False
        if len(ids) == _SERIES_PER_PRUNE_STEP:
            self.behind = True
            return False
        p.done_cutoff, p.cutoff = p.cutoff, None
        return True

    def _delete_dead_series(self) -> list[int]:
        """Series whose every sample expired (a mount unplugged a week ago) are forgotten."""
        candidates = [
            r[0]
            for r in self._conn.execute(
                "SELECT id FROM series s"
                " WHERE NOT EXISTS (SELECT 1 FROM samples_1m m WHERE m.series_id = s.id)"
                " AND NOT EXISTS (SELECT 1 FROM samples_15m q WHERE q.series_id = s.id)"
            )
        ]
        if not candidates:
            return []
        live = {r[0] for r in self._conn.execute("SELECT DISTINCT series_id FROM samples_raw")}
        dead = [sid for sid in candidates if sid not in live]
        self._conn.executemany("DELETE FROM series WHERE id = ?", [(sid,) for sid in dead])
        return dead

    def _vacuum(self) -> None:
        """Give free pages back to the OS after a retention cut, a few at a time."""
        free = int(self._conn.execute("PRAGMA freelist_count").fetchone()[0])
        if free > _VACUUM_THRESHOLD_PAGES:
            # execute() steps this pragma once (one page); executescript runs it to the end
            # (in its own transaction: we are in autocommit mode here).
            self._conn.executescript(f"PRAGMA incremental_vacuum({_VACUUM_PAGES});")

    # -- state -----------------------------------------------------------------------------
    def _save(self, wm1: int, wm15: int) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [("wm1", wm1), ("wm15", wm15)],
        )
        self.wm1, self.wm15 = wm1, wm15

"""HistoryStore: every collected sample kept locally in SQLite, downsampled as it ages.

Tiers (see docs/history.md for the measured sizes):

* raw samples, kept ``min(raw_retention, retention)`` (default 1 h);
* 1-minute buckets (avg, min, max, last, count), kept ``min(24 h, retention)``;
* 15-minute buckets (same columns), kept for the whole ``metrics.retention_period``.

So the file is bounded by about ``series x (raw_retention / interval + 1440 + retention /
15 min)`` rows of ~50 bytes, whatever the retention, plus a WAL capped near 1 MiB. Measured
with ``bench/bench_history.py``: the default metric set (80 series incl. 16 per-core CPU)
with the high-load preset (30 s, 7 d) keeps ~179 000 rows in 9.1 MB (10.2 MB with the WAL);
60 series at 10 s for 7 d take 7.4 MB.

Writes: :meth:`HistoryStore.append` only buffers (no I/O); :meth:`HistoryStore.flush` writes
the buffer in one transaction, then runs one bounded maintenance step (rollups, pruning).
SQLite runs in WAL mode with ``synchronous=NORMAL``: a crashed or killed process loses
nothing it flushed; a power cut or OS crash may roll back the commits made since the last
checkpoint (at most ~1 MiB of WAL) but leaves a consistent file. Queries use a second
connection, so they never wait for a write.

Thread-safety: every method may be called from any thread. Several processes may open the
same file (the agent writes, ``timeline-telemetry history`` reads).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from timeline_telemetry.metrics.model import FlatSample, Labels

from .csv_export import write_csv
from .export_plan import HISTOGRAM_QUANTILES, ExportRange, histogram_families, quantile_rows
from .identity import (
    FileId,
    drop_stale_sidecars,
    file_id,
    replaced_why,
    salvage_into,
    sidecar_ids,
)
from .maintenance import Maintainer, Retention, horizons, read_oldest_raw, read_watermarks
from .model import (
    HistoryError,
    LabelMatcher,
    SeriesData,
    Stat,
    Tier,
    canonical_labels,
    labels_from_json,
    labels_to_json,
    to_matchers,
)
from .query import Buckets, Row, fetch, fetch_buckets, plan
from .schema import connect_reader, is_corruption, move_aside, open_writer, sidecar_paths

__all__ = ["HistoryStore"]

_log = logging.getLogger(__name__)

#: ``(name, labels as given, ts_ms, value)`` waiting for the next flush.
_Pending = tuple[str, Labels, int, float]
_Matchers = Sequence[LabelMatcher] | Mapping[str, str]
_STAT_GET: dict[Stat, Callable[[Row], float]] = {
    Stat.AVG: lambda r: r[1],
    Stat.MIN: lambda r: r[2],
    Stat.MAX: lambda r: r[3],
    Stat.LAST: lambda r: r[4],
}


class HistoryStore:
    """The local metric history at ``path`` (created if missing).

    ``retention`` is ``metrics.retention_period`` in seconds; ``raw_retention`` and
    ``minute_retention`` cap the raw and 1-minute tiers (see the module docstring).
    ``clock`` gives "now" for pruning, rollups and queries (tests pass a fake one).
    ``max_series`` bounds the number of distinct series (a label explosion in pushed
    metrics must not fill the disk); samples of further new series are dropped and
    counted in :attr:`dropped_samples`. ``max_buffered`` bounds the unflushed samples kept
    while the disk refuses writes (the oldest go first).

    A file that is corrupt or of an unknown schema version is moved aside as
    ``<name>.corrupt-<timestamp>`` and a fresh history is started.
    """

    def __init__(
        self,
        path: Path,
        *,
        retention: float,
        raw_retention: float = 3600.0,
        minute_retention: float = 86400.0,
        clock: Callable[[], float] = time.time,
        max_series: int = 10_000,
        max_buffered: int = 500_000,
    ) -> None:
        self._path = Path(path)
        self._retention = Retention.from_seconds(retention, raw_retention, minute_retention)
        self._clock = clock
        self._max_series = max_series
        self._max_buffered = max_buffered
        self._buf_lock = threading.Lock()
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._buffer: list[_Pending] = []
        self._closed = False
        self._dropped = 0
        self._warned: set[str] = set()
        # Writer side: id by (name, labels as given) and by canonical key.
        self._id_by_key: dict[tuple[str, Labels], int] = {}
        self._id_by_canon: dict[tuple[str, Labels], int] = {}
        # Reader side: id -> labels per name, refreshed from the file (other writers too).
        self._by_name: dict[str, dict[int, Labels]] = {}
        self._max_id = 0
        self._stats_lock = threading.Lock()
        self._corrupt = False
        self._wrote = False  # a store only read from (the CLI) never runs maintenance
        #: A detected wall-clock step is in effect (:meth:`hold_maintenance`).
        self._maintenance_held = False
        self._wconn: sqlite3.Connection | None
        self._rconn: sqlite3.Connection | None
        self._wconn, self._rconn, self._maint = self._open()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        retention: float,
        raw_retention: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> HistoryStore:
        """Same as the constructor; reads better at call sites that treat it as a resource."""
        return cls(path, retention=retention, raw_retention=raw_retention, clock=clock)

    # -- writing --------------------------------------------------------------------------
    def append(self, timestamp: float, samples: Iterable[FlatSample]) -> None:
        """Buffer ``samples`` taken at ``timestamp`` (Unix seconds); no disk I/O.

        Two samples of one series at the same millisecond: the later one wins.
        """
        ts = round(timestamp * 1000)
        with self._buf_lock:
            if self._closed:
                raise HistoryError("the history store is closed")
            buf = self._buffer
            buf.extend([(name, labels, ts, value) for name, labels, value in samples])
            excess = len(buf) - self._max_buffered
            if excess > 0:
                del buf[:excess]
                self._drop(excess, "the unflushed buffer is full (is the disk refusing writes?)")

    def flush(self) -> None:
        """Write everything buffered in one transaction, then run one maintenance step.

        Maintenance only runs once this store has written something, so a store opened
        just to read (``timeline-telemetry history``) never prunes with its own settings.
        Raises :class:`HistoryError` when the write fails; the samples stay buffered for
        the next try. A file found corrupt (while writing, or earlier by a query or the
        maintenance) is moved aside and the write goes to a fresh file. Maintenance
        failures are logged, never raised.
        """
        with self._wlock:
            with self._buf_lock:
                batch, self._buffer = self._buffer, []
            if self._wconn is None:
                if batch:
                    raise HistoryError("the history store is closed")
                return
            now_ms = round(self._clock() * 1000)
            try:
                if self._corrupt and batch:  # only a writer replaces the file
                    self._reopen_fresh("found corrupt by an earlier read")
                if batch:
                    self._write_recovering(batch, now_ms)
            except HistoryError:
                self._requeue(batch)
                raise
            except sqlite3.Error as exc:
                self._requeue(batch)
                raise HistoryError(f"history write to {self._path} failed: {exc}") from exc
            if batch:
                self._wrote = True
            if not self._wrote or self._maintenance_held:
                return  # never roll up or prune on a jumped clock
            if not self._maint.due(now_ms):
                return
            try:
                self._maint.step(now_ms)
            except sqlite3.Error as exc:
                self._note_error(exc)
                _log.warning("history maintenance failed (will retry): %s", exc)

    def hold_maintenance(self, held: bool) -> None:
        """While a detected wall-clock step is in effect, rollups and retention wait.

        The agent stamps samples with its step-corrected clock (``runtime.clock``), so the
        stamps are right; holding maintenance as well means that even a clock that stepped
        between two of the detector's ticks can never make retention delete good data."""
        self._maintenance_held = held

    def maintain(self, *, force: bool = False) -> None:
        """Run one maintenance step now (``flush`` does this itself).

        ``force`` rolls up every closed minute at once instead of batching ten minutes;
        handy before reading tiers directly.
        """
        with self._wlock:
            if self._wconn is None:
                raise HistoryError("the history store is closed")
            try:
                self._maint.step(round(self._clock() * 1000), force=force)
            except sqlite3.Error as exc:
                self._note_error(exc)
                raise HistoryError(f"history maintenance on {self._path} failed: {exc}") from exc

    def close(self) -> None:
        """Flush what is buffered and close the file; later calls do nothing."""
        with self._buf_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.flush()
        finally:
            with self._wlock, self._rlock:
                for conn in (self._wconn, self._rconn):
                    if conn is not None:
                        conn.close()
                self._wconn = self._rconn = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------
    def query(
        self,
        name: str,
        matchers: _Matchers = (),
        *,
        start: float,
        end: float,
        max_points: int | None = None,
        stat: Stat | str = Stat.AVG,
        tier: Tier | str | None = None,
    ) -> list[SeriesData]:
        """Every series named ``name`` selected by ``matchers``, with its points in
        ``[start, end]`` (Unix seconds), sorted by labels; series without points are left out.

        Older parts of the range come from the downsampled tiers (``stat`` picks avg, min,
        max or last of each bucket), stitched to the raw samples without overlap.
        ``max_points`` merges the output into at most that many equal time buckets (for
        plots). ``tier`` reads one tier only, e.g. ``Tier.RAW`` for PromQL evaluation.
        """
        get = _STAT_GET[Stat(stat)]
        return [
            SeriesData(name, labels, [(r[0] / 1000, get(r)) for r in rows])
            for labels, rows in self._rows(
                name, matchers, start=start, end=end, max_points=max_points, tier=tier
            )
        ]

    def series(self, name_prefix: str = "") -> list[tuple[str, Labels]]:
        """Every series kept (name, labels) whose name starts with ``name_prefix``, sorted."""
        with self._reading() as conn:
            rows = conn.execute("SELECT name, labels FROM series").fetchall()
        return sorted(
            (n, labels_from_json(lab)) for n, lab in rows if n.startswith(name_prefix)
        )

    def names(self) -> list[str]:
        """The distinct metric sample names kept, sorted."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT name FROM series ORDER BY name")]

    def time_range(self) -> tuple[float, float] | None:
        """``(oldest, newest)`` point timestamp in any tier (Unix seconds), or None if empty."""
        lows: list[int] = []
        highs: list[int] = []
        with self._reading() as conn:
            for sql in (
                "SELECT (SELECT ts FROM samples_raw ORDER BY ts LIMIT 1),"
                " (SELECT ts FROM samples_raw ORDER BY ts DESC LIMIT 1)",
                "SELECT min(ts), max(ts) FROM samples_1m",
                "SELECT min(ts), max(ts) FROM samples_15m",
            ):
                lo, hi = conn.execute(sql).fetchone()
                if lo is not None:
                    lows.append(lo)
                    highs.append(hi)
        if not lows:
            return None
        return (min(lows) / 1000, max(highs) / 1000)

    def export_csv(
        self,
        out: TextIO,
        *,
        start: float,
        end: float,
        max_points_per_series: int | None = None,
        names: Iterable[str] | None = None,
        ranges: Sequence[ExportRange] | None = None,
        summarise_histograms: bool = False,
    ) -> int:
        """Write every series' points in ``[start, end]`` as CSV; returns the row count.
        ``names``: which metric names, in this order (default: all, sorted).

        ``ranges`` (see :func:`.export_plan.resolution_plan`) replaces ``start``/``end``/
        ``max_points_per_series`` with several non-overlapping ranges, each at its own
        resolution, stitched per series in time order. ``summarise_histograms`` writes each
        histogram family (``_bucket`` + ``_count`` + ``_sum``) as its ``_count`` and ``_sum``
        series plus ``<family>_p50`` and ``<family>_p95`` (the quantiles of the observations
        since the previous point; ``count`` is how many), instead of one series per bucket.

        Columns: ``timestamp`` (ISO-8601 UTC), ``name``, ``labels`` (canonical JSON),
        ``value`` (bucket average for tiers), ``min``, ``max``, ``count`` (samples the point
        summarises), ``tier`` (raw, 1m, 15m; for merged buckets the coarsest source).
        """
        parts = tuple(ranges) if ranges is not None else (
            ExportRange(start, end, max_points_per_series),
        )
        wanted = self.names() if names is None else list(names)
        families = histogram_families(self.names()) if summarise_histograms else set()

        def stitched(name: str) -> list[tuple[Labels, list[Row]]]:
            by_labels: dict[Labels, list[Row]] = {}
            for part in parts:
                for labels, rows in self._rows(
                    name, (), start=part.start, end=part.end, max_points=part.max_points,
                    tier=None,
                ):
                    by_labels.setdefault(labels, []).extend(rows)
            return sorted(by_labels.items())

        def series() -> Iterator[tuple[str, Labels, list[Row]]]:
            for name in wanted:
                family = name[: -len("_bucket")] if name.endswith("_bucket") else None
                if family is None or family not in families:
                    for labels, rows in stitched(name):
                        yield name, labels, rows
                    continue
                buckets = stitched(name)
                for suffix, q in HISTOGRAM_QUANTILES:
                    for labels, rows in quantile_rows(buckets, q):
                        yield f"{family}_{suffix}", labels, rows

        return write_csv(out, series())

    def size_bytes(self) -> int:
        """Bytes on disk: the database plus its WAL and shared-memory files."""
        total = 0
        for p in sidecar_paths(self._path):
            with contextlib.suppress(FileNotFoundError):
                total += p.stat().st_size
        return total

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def file_identity(self) -> FileId | None:
        """``(st_dev, st_ino)`` of the file open for writing; the health check compares it
        with what :attr:`path` names now."""
        return self._identity

    def reopen_if_replaced(self) -> str | None:
        """Reopen when :attr:`path` no longer names the open file (removed, or its folder
        removed, while the agent ran; or replaced by another file). A removed file is
        rebuilt from the open one, which SQLite can still read, so nothing is lost; a file
        put in its place is opened as it is. Logs a warning and returns what happened;
        None (and nothing done) while the path names the open file."""
        with self._wlock:
            conn = self._wconn
            why = replaced_why(self._path, self._identity) if conn is not None else None
            if conn is None or why is None:
                return None
            kept = not self._path.exists() and salvage_into(conn, self._path)
            with self._rlock:
                for c in (self._wconn, self._rconn):
                    if c is not None:
                        c.close()
                self._wconn = self._rconn = None
            drop_stale_sidecars(self._sidecars)
            wconn, rconn, maint = self._open()
            with self._rlock:
                self._wconn, self._rconn, self._maint = wconn, rconn, maint
        what = ("recreated it from the open copy, history kept" if kept
                else "opened the file now there")
        msg = f"history file {self._path} was {why} while in use; {what}"
        _log.warning("%s", msg)
        return msg

    @property
    def dropped_samples(self) -> int:
        """Samples never stored: too old, over ``max_series``, or buffer overflow."""
        return self._dropped

    # -- internals: writing ---------------------------------------------------------------
    def _open(self) -> tuple[sqlite3.Connection, sqlite3.Connection, Maintainer]:
        wconn = open_writer(self._path, now=self._clock())
        self._identity = file_id(self._path)
        self._sidecars = sidecar_ids(self._path)
        try:
            rconn = connect_reader(self._path)
            maint = Maintainer(wconn, self._retention, self._forget_series)
            rows = wconn.execute("SELECT id, name, labels FROM series").fetchall()
        except BaseException:
            wconn.close()
            raise
        self._id_by_key.clear()
        self._id_by_canon = {(n, labels_from_json(lab)): sid for sid, n, lab in rows}
        with self._rlock:
            self._by_name.clear()
            self._max_id = 0
        return wconn, rconn, maint

    def _write_recovering(self, batch: list[_Pending], now_ms: int) -> None:
        try:
            self._write(batch, now_ms)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._reopen_fresh(str(exc))
            self._write(batch, now_ms)

    def _note_error(self, exc: sqlite3.Error) -> None:
        """Remember corruption seen anywhere; the next flush starts a fresh file."""
        if is_corruption(exc):
            self._corrupt = True

    def _reopen_fresh(self, why: str) -> None:
        _log.warning("history file %s is corrupt (%s); starting a new one", self._path, why)
        self._corrupt = False
        with self._rlock:
            for conn in (self._wconn, self._rconn):
                if conn is not None:
                    conn.close()
            self._wconn = self._rconn = None
        moved = move_aside(self._path, self._clock())
        _log.warning("moved the corrupt history to %s", moved)
        wconn, rconn, maint = self._open()
        with self._rlock:
            self._wconn, self._rconn, self._maint = wconn, rconn, maint

    def _write(self, batch: list[_Pending], now_ms: int) -> None:
        conn = self._wconn
        assert conn is not None
        # On a jumped clock nothing is too old to keep (retention waits too).
        too_old = -(2**62) if self._maintenance_held else self._maint.too_old_before(now_ms)
        id_by_key = self._id_by_key
        rows: list[tuple[int, int, float]] = []
        created: list[tuple[str, Labels]] = []
        dropped_old = dropped_limit = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, labels, ts, value in batch:
                if ts < too_old:
                    dropped_old += 1
                    continue
                sid = id_by_key.get((name, labels))
                if sid is None:
                    sid = self._resolve(conn, name, labels, created)
                    if sid is None:
                        dropped_limit += 1
                        continue
                rows.append((ts, sid, value))
            conn.executemany(
                "INSERT OR REPLACE INTO samples_raw(ts, series_id, value) VALUES (?, ?, ?)", rows
            )
            if rows:
                self._maint.note_written(min(r[0] for r in rows))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
                self._maint.reload()
            for key in created:
                self._id_by_canon.pop(key, None)
            self._id_by_key.clear()
            raise
        if dropped_old:
            self._drop(dropped_old, "older than the raw retention")
        if dropped_limit:
            self._drop(dropped_limit, f"over the limit of {self._max_series} series")

    def _resolve(
        self, conn: sqlite3.Connection, name: str, labels: Labels,
        created: list[tuple[str, Labels]],
    ) -> int | None:
        canon = canonical_labels(labels)
        sid = self._id_by_canon.get((name, canon))
        if sid is None:
            if len(self._id_by_canon) >= self._max_series:
                return None
            text = labels_to_json(canon)
            conn.execute("INSERT OR IGNORE INTO series(name, labels) VALUES (?, ?)", (name, text))
            sid = int(
                conn.execute(
                    "SELECT id FROM series WHERE name = ? AND labels = ?", (name, text)
                ).fetchone()[0]
            )
            self._id_by_canon[(name, canon)] = sid
            created.append((name, canon))
        self._id_by_key[(name, labels)] = sid
        return sid

    def _requeue(self, batch: list[_Pending]) -> None:
        with self._buf_lock:
            self._buffer[:0] = batch
            excess = len(self._buffer) - self._max_buffered
            if excess > 0:
                del self._buffer[:excess]
                self._drop(excess, "the unflushed buffer is full (is the disk refusing writes?)")

    def _drop(self, n: int, why: str) -> None:
        with self._stats_lock:
            self._dropped += n
            warn = why not in self._warned
            self._warned.add(why)
        if warn:
            _log.warning("history dropped %d samples: %s (further drops for this reason are "
                         "only counted in dropped_samples)", n, why)

    def _forget_series(self, ids: list[int]) -> None:
        gone = set(ids)
        self._id_by_canon = {k: v for k, v in self._id_by_canon.items() if v not in gone}
        self._id_by_key = {k: v for k, v in self._id_by_key.items() if v not in gone}
        with self._rlock:
            for by_id in self._by_name.values():
                for sid in gone & by_id.keys():
                    del by_id[sid]

    # -- internals: reading ---------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The reader lock and one read transaction: a consistent view of every tier.

        SQLite errors come out as :class:`HistoryError`; corruption is noted for the writer.
        """
        with self._rlock:
            conn = self._rconn
            if conn is None:
                raise HistoryError("the history store is closed")
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")  # read-only: nothing to commit
            except sqlite3.Error as exc:
                self._note_error(exc)
                raise HistoryError(f"history read from {self._path} failed: {exc}") from exc

    def _rows(
        self,
        name: str,
        matchers: _Matchers,
        *,
        start: float,
        end: float,
        max_points: int | None,
        tier: Tier | str | None,
    ) -> list[tuple[Labels, list[Row]]]:
        if max_points is not None and max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points}")
        forced = None if tier is None else Tier(tier)
        wanted = to_matchers(matchers)
        # Rounded as append() rounds, so a query from a sample's own timestamp includes it.
        start_ms, end_ms = round(start * 1000), round(end * 1000)
        with self._reading() as conn:
            self._refresh_series(conn)
            selected = {
                sid: labels
                for sid, labels in self._by_name.get(name, {}).items()
                if all(m.matches(dict(labels)) for m in wanted)
            }
            if not selected or end_ms < start_ms:
                return []
            wm = read_watermarks(conn)
            segments = plan(
                start_ms, end_ms,
                horizons=horizons(round(self._clock() * 1000), self._retention, *wm,
                                  oldest_raw=read_oldest_raw(conn)),
                watermarks=wm,
                bucket_ms=None if max_points is None else (end_ms - start_ms) / max_points,
                tier=forced,
            )
            ids = sorted(selected)
            if max_points is None:
                by_id = fetch(conn, ids, segments)
            else:
                width = max((end_ms - start_ms) / max_points, 1.0)
                by_id = fetch_buckets(conn, ids, segments, Buckets(start_ms, width, max_points))
        out = [(selected[sid], rows) for sid, rows in by_id.items() if rows]
        out.sort(key=lambda item: item[0])
        return out

    def _refresh_series(self, conn: sqlite3.Connection) -> None:
        """Pick up series added since the last read (by this or another process)."""
        for sid, name, lab in conn.execute(
            "SELECT id, name, labels FROM series WHERE id > ? ORDER BY id", (self._max_id,)
        ):
            self._by_name.setdefault(name, {})[sid] = labels_from_json(lab)
            self._max_id = sid

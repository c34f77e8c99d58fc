"""Where the remote-write exporter reads its samples, and the durable cursor into them.

The sender reads from the local history (``samples_raw``, clustered by ``(ts, series_id)``)
rather than from a queue of its own: the history already keeps every sample across a
receiver outage, a sleep or an agent restart, so resuming is "read what is after the
cursor". The cursor is the last ``(ts, series_id)`` delivered (or knowingly dropped), kept in
a small JSON file written atomically. Only committed rows are visible to the reader
connection and each collection commits in one transaction, so rows never appear behind the
cursor.

Without a history (``metrics.history.enabled: false``) a bounded in-memory buffer of the
latest snapshots stands in: it bridges a short outage, not a restart.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from timeline_telemetry.history.maintenance import read_oldest_raw
from timeline_telemetry.history.model import labels_from_json
from timeline_telemetry.history.schema import connect_reader
from timeline_telemetry.metrics.model import FlatSample, Labels

__all__ = [
    "Cursor",
    "CursorFile",
    "HistorySource",
    "MemorySource",
    "SampleRows",
    "SampleSource",
]

_log = logging.getLogger(__name__)

#: ``(ts_ms, series_id)``: the last row delivered; rows strictly after it are next.
Cursor = tuple[int, int]
_MINUTE_MS = 60_000
_NO_BOUND = 1 << 62
#: Cursor files are a few dozen bytes; anything larger is not ours.
_MAX_CURSOR_FILE = 4096


@dataclass(frozen=True, slots=True)
class SampleRows:
    """One read: ``rows`` as ``(ts_ms, series_id, value)`` in cursor order, and where the
    cursor stands after them (``last``)."""

    rows: list[tuple[int, int, float]]
    last: Cursor


class SampleSource(Protocol):
    """What the sender reads from (the history, or the in-memory fallback)."""

    def read(self, after: Cursor, limit: int) -> SampleRows:
        """Up to ``limit`` rows strictly after ``after``, oldest first."""
        ...

    def series(self, series_id: int) -> tuple[str, Labels] | None:
        """The name and labels of ``series_id`` (None if unknown)."""
        ...

    def newest_ts(self) -> int | None:
        """The newest sample's timestamp (ms), or None if there is none."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class HistorySource:
    """Reads the history file at ``path`` over its own read-only connection (the agent's
    writer never waits for it: WAL mode). Use from one thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._series: dict[int, tuple[str, Labels]] = {}

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_reader(self._path)
        return self._conn

    def read(self, after: Cursor, limit: int) -> SampleRows:
        """Raw samples; for the part of a long gap whose raw samples were already rolled up
        and pruned (older than the raw tier's hour), the 1-minute tier's ``last`` value at
        each minute, so a long outage is filled at 1-minute resolution rather than not."""
        conn = self._connection()
        try:
            oldest_raw = read_oldest_raw(conn)
            rows = []
            if oldest_raw is None or after[0] < oldest_raw - _MINUTE_MS:
                rows = conn.execute(
                    "SELECT ts, series_id, last FROM samples_1m WHERE (ts, series_id) > (?, ?) "
                    "AND ts < ? ORDER BY ts, series_id LIMIT ?",
                    (after[0], after[1],
                     _NO_BOUND if oldest_raw is None else oldest_raw, limit),
                ).fetchall()
            if not rows:
                rows = conn.execute(
                    "SELECT ts, series_id, value FROM samples_raw "
                    "WHERE (ts, series_id) > (?, ?) ORDER BY ts, series_id LIMIT ?",
                    (after[0], after[1], limit),
                ).fetchall()
        except sqlite3.Error:
            self.close()  # the file may have been replaced: reopen next time
            raise
        out = [(int(ts), int(sid), float("nan") if v is None else float(v))
               for ts, sid, v in rows]
        last = (out[-1][0], out[-1][1]) if out else after
        return SampleRows(out, last)

    def series(self, series_id: int) -> tuple[str, Labels] | None:
        found = self._series.get(series_id)
        if found is None:
            row = self._connection().execute(
                "SELECT name, labels FROM series WHERE id = ?", (series_id,)
            ).fetchone()
            if row is None:
                return None
            if len(self._series) >= 100_000:
                self._series.clear()  # bounded: the history caps series at 10 000 anyway
            found = (str(row[0]), labels_from_json(str(row[1])))
            self._series[series_id] = found
        return found

    def newest_ts(self) -> int | None:
        row = self._connection().execute("SELECT MAX(ts) FROM samples_raw").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._series.clear()
        if conn is not None:
            conn.close()


class MemorySource:
    """The latest ``max_samples`` collected samples in memory (oldest dropped first and
    counted in :attr:`dropped`). ``add`` may be called from any thread."""

    def __init__(self, max_samples: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._rows: collections.deque[tuple[int, int, float]] = collections.deque()
        self._max = max_samples
        self._ids: dict[tuple[str, Labels], int] = {}
        self._series: dict[int, tuple[str, Labels]] = {}
        self.dropped = 0

    def add(self, timestamp: float, samples: Iterable[FlatSample]) -> None:
        """Keep one collection's samples (taken at ``timestamp``, Unix seconds)."""
        ts = round(timestamp * 1000)
        with self._lock:
            if self._rows and ts <= self._rows[-1][0]:
                self.dropped += sum(1 for _ in samples)  # a clock step back: cursor order
                return
            batch: list[tuple[int, int, float]] = []
            for s in samples:
                key = (s.name, tuple(sorted(s.labels)))
                sid = self._ids.get(key)
                if sid is None:
                    if len(self._ids) >= 100_000:
                        self.dropped += 1
                        continue
                    sid = len(self._ids) + 1
                    self._ids[key] = sid
                    self._series[sid] = key
                batch.append((ts, sid, s.value))
            batch.sort()  # (ts, id) order, as the history gives and the cursor assumes
            self._rows.extend(batch)
            excess = len(self._rows) - self._max
            for _ in range(max(0, excess)):
                self._rows.popleft()
            self.dropped += max(0, excess)

    def read(self, after: Cursor, limit: int) -> SampleRows:
        with self._lock:
            while self._rows and (self._rows[0][0], self._rows[0][1]) <= after:
                self._rows.popleft()  # delivered: the cursor only moves forward
            rows = [self._rows[i] for i in range(min(limit, len(self._rows)))]
        return SampleRows(rows, (rows[-1][0], rows[-1][1]) if rows else after)

    def series(self, series_id: int) -> tuple[str, Labels] | None:
        with self._lock:
            return self._series.get(series_id)

    def newest_ts(self) -> int | None:
        with self._lock:
            return self._rows[-1][0] if self._rows else None

    def close(self) -> None:
        with self._lock:
            self._rows.clear()


class CursorFile:
    """The cursor kept in ``path`` as ``{"ts_ms": ..., "series_id": ..., "url": ...}``.

    Written to a temporary file, flushed to disk and renamed over the old one, so a crash
    leaves either the old or the new cursor, never half of one. ``url`` (redacted) is only
    for a human reading the folder.
    """

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self._url = url

    def load(self) -> Cursor | None:
        """The saved cursor, or None (missing, unreadable or not ours: logged)."""
        try:
            with self.path.open("rb") as f:
                raw = f.read(_MAX_CURSOR_FILE + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("remote-write cursor %s unreadable (%s): starting anew", self.path, exc)
            return None
        try:
            if len(raw) > _MAX_CURSOR_FILE:
                raise ValueError("too large")
            doc = json.loads(raw)
            ts, sid = doc["ts_ms"], doc["series_id"]
            if not (isinstance(ts, int) and isinstance(sid, int)) or ts < 0 or sid < 0:
                raise ValueError("not integers")
        except (ValueError, KeyError, TypeError) as exc:
            _log.warning("remote-write cursor %s is not valid (%s): starting anew", self.path, exc)
            return None
        return (ts, sid)

    def save(self, cursor: Cursor) -> None:
        """Replace the saved cursor atomically. Raises ``OSError``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps({"ts_ms": cursor[0], "series_id": cursor[1], "url": self._url})
        try:
            with tmp.open("w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

"""Opening the history file: pragmas, the schema and its version, and moving bad files aside.

The history is a cache of recent telemetry, not a record anyone must keep: a file this
version cannot use (corrupt, not SQLite, or written by an unknown schema version) is renamed
to ``<name>.corrupt-<UTC timestamp>`` with a warning and a fresh one is created, so the
agent always starts. Errors that say nothing about the file itself (locked, permission
denied, disk I/O) are raised as :class:`HistoryError` instead: renaming would not help.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from .model import HistoryError

__all__ = [
    "SCHEMA_VERSION",
    "connect_reader",
    "is_corruption",
    "move_aside",
    "open_writer",
    "sidecar_paths",
]

_log = logging.getLogger(__name__)

#: Stored in ``PRAGMA user_version``; bump with a migration when the tables change.
SCHEMA_VERSION = 1

#: Raw samples are clustered by time (appends touch the last page only, pruning deletes
#: from the front); the tiers are clustered by series (a plot reads one contiguous run).
#: ``value``/``avg``... NULL is NaN (SQLite stores NaN as NULL). ``count`` counts the
#: non-NaN samples a bucket summarises.
_DDL = (
    """CREATE TABLE series(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        labels TEXT NOT NULL,
        UNIQUE(name, labels))""",
    """CREATE TABLE samples_raw(
        ts INTEGER NOT NULL,
        series_id INTEGER NOT NULL,
        value REAL,
        PRIMARY KEY(ts, series_id)) WITHOUT ROWID""",
    *(
        f"""CREATE TABLE {table}(
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        avg REAL, min REAL, max REAL, last REAL,
        count INTEGER NOT NULL,
        PRIMARY KEY(series_id, ts)) WITHOUT ROWID"""
        for table in ("samples_1m", "samples_15m")
    ),
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
)
_TABLES = frozenset({"series", "samples_raw", "samples_1m", "samples_15m", "meta"})

#: SQLite primary result codes that mean "this file is damaged or is not a database".
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_BUSY_TIMEOUT_MS = 5000
#: Checkpoint every 256 pages (1 MiB) and truncate the WAL back to 1 MiB: the WAL would
#: otherwise stay at SQLite's 4 MiB high-water mark, as large as a week of history.
_WAL_AUTOCHECKPOINT_PAGES = 256
_JOURNAL_SIZE_LIMIT = 1024 * 1024


class _Unusable(Exception):
    """The file exists but this version cannot use it; it will be moved aside."""


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file itself is damaged (not locked, not I/O)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return False
    return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def sidecar_paths(path: Path) -> list[Path]:
    """The database file and the WAL/SHM/journal files SQLite keeps beside it."""
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def open_writer(path: Path, *, now: float) -> sqlite3.Connection:
    """Open (creating if needed) the history at ``path`` for writing, recovering bad files.

    ``now`` stamps the name of a file moved aside. The connection is in autocommit mode
    (transactions are explicit) and may be used from any thread under the caller's lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open_checked(path)
    except _Unusable as exc:
        moved = move_aside(path, now)
        _log.warning(
            "history file %s is unusable (%s); moved it to %s and started a new history",
            path, exc, moved,
        )
    return _open_checked(path)


def connect_reader(path: Path) -> sqlite3.Connection:
    """A second connection for queries: in WAL mode readers never wait for the writer."""
    conn = _connect(path)
    conn.execute("PRAGMA query_only=1")
    return conn


def move_aside(path: Path, now: float) -> Path:
    """Rename ``path`` (and its WAL/SHM files) to ``<name>.corrupt-<stamp>``; returns the name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    for src, dst in zip(sidecar_paths(path), sidecar_paths(target), strict=True):
        if src.exists():
            os.replace(src, dst)
    return target


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path),
        timeout=_BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return conn


def _open_checked(path: Path) -> sqlite3.Connection:
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot open the history at {path}: {exc}") from exc
    try:
        _prepare(conn)
    except _Unusable:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        if is_corruption(exc):
            raise _Unusable(str(exc)) from exc
        raise HistoryError(f"cannot open the history at {path}: {exc}") from exc
    return conn


def _prepare(conn: sqlite3.Connection) -> None:
    version = _user_version(conn)
    if version not in (0, SCHEMA_VERSION):
        raise _Unusable(f"schema version {version}; this version reads {SCHEMA_VERSION}")
    if version == 0:
        # Only takes effect on an empty file, and only before WAL mode is switched on.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    _pragmas(conn)
    if version == 0:
        _create(conn)
        return
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise _Unusable("integrity check failed: " + "; ".join(map(str, problems)))
    missing = _TABLES - _tables(conn)
    if missing:
        raise _Unusable(f"tables missing: {', '.join(sorted(missing))}")


def _pragmas(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        _log.warning("history: SQLite refused WAL mode (journal_mode=%s); writes may block reads",
                     mode)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
    conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created it between our check and the lock.
        version = _user_version(conn)
        if version == SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        existing = _tables(conn)
        if version != 0 or existing:
            raise _Unusable(
                f"not a history file (schema version {version}, "
                f"tables {', '.join(sorted(existing)) or 'none'})"
            )
        for stmt in _DDL:
            conn.execute(stmt)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    }

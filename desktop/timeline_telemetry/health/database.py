"""DatabaseHealthCheck: an SQLite file (read-only + quick integrity check) or any DB-API DB.

``PRAGMA quick_check`` reads the whole file (seconds for a large history), so it runs at most
every ``integrity_interval``; the rounds between only open the file read-only and read its
schema, which catches a missing, locked or unreadable file. A failed integrity check is
repeated every round until it passes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model import HealthCheckResult

__all__ = ["DatabaseHealthCheck"]

_MAX_PROBLEMS = 5


class DatabaseHealthCheck:
    """Either ``path`` (an SQLite file, opened with ``mode=ro`` so the check never writes or
    creates it) or ``connect`` (a DB-API ``connect()`` callable, e.g.
    ``functools.partial(psycopg.connect, dsn)``; ``query`` is run and its result fetched).

    ``integrity_interval`` seconds between quick checks (0 = every run); ``clock`` is monotonic.
    """

    kind = "database"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        connect: Callable[[], Any] | None = None,
        query: str = "SELECT 1",
        integrity_interval: float = 3600.0,
        name: str | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (path is None) == (connect is None):
            raise ValueError("give exactly one of path (an SQLite file) or connect (DB-API)")
        self.path = Path(path).absolute() if path is not None else None
        self._connect = connect
        self.query = query
        self.integrity_interval = integrity_interval
        default = f"database:{self.path.name}" if self.path is not None else "database"
        self.name = name or default
        self.timeout = timeout
        self._clock = clock
        self._last_ok: float | None = None  # when quick_check last passed

    def check(self) -> HealthCheckResult:
        """Open, probe, close."""
        if self.path is not None:
            return self._check_sqlite(self.path)
        return self._check_dbapi()

    # -- SQLite -------------------------------------------------------------------------
    def _check_sqlite(self, path: Path) -> HealthCheckResult:
        if not path.is_file():
            return HealthCheckResult.unhealthy(f"{path} does not exist", path=str(path))
        due = (self._last_ok is None or self.integrity_interval <= 0
               or self._clock() - self._last_ok >= self.integrity_interval)
        uri = path.as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=min(self.timeout or 5.0, 5.0))
        except sqlite3.Error as exc:
            return HealthCheckResult.unhealthy(f"cannot open {path}: {exc}", path=str(path))
        try:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            problems = self._quick_check(conn) if due else None
        except sqlite3.Error as exc:
            self._last_ok = None
            return HealthCheckResult.unhealthy(f"{path} is unreadable: {exc}", path=str(path))
        finally:
            conn.close()
        meta: dict[str, object] = {"path": str(path), "tables": tables,
                                   "bytes": path.stat().st_size}
        if problems:
            self._last_ok = None
            return HealthCheckResult.unhealthy(
                f"{path} failed its integrity check: {'; '.join(problems)}",
                integrity="failed", problems=problems, **meta)
        if problems is not None:
            self._last_ok = self._clock()
            return HealthCheckResult.healthy(f"{path}: integrity ok, {tables} schema objects",
                                             integrity="ok", **meta)
        age = self._clock() - (self._last_ok or 0.0)
        return HealthCheckResult.healthy(
            f"{path}: readable (integrity ok {age:.0f}s ago)", integrity="ok",
            integrity_age_seconds=round(age, 1), **meta)

    @staticmethod
    def _quick_check(conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(f"PRAGMA quick_check({_MAX_PROBLEMS})").fetchall()
        lines = [ln for (text,) in rows for ln in str(text).splitlines() if ln.strip()]
        if lines == ["ok"]:
            return []
        return [ln for ln in lines if not ln.startswith("***")][:_MAX_PROBLEMS] or lines

    # -- DB-API -------------------------------------------------------------------------
    def _check_dbapi(self) -> HealthCheckResult:
        assert self._connect is not None
        started = time.perf_counter()
        try:
            conn = self._connect()
        except Exception as exc:
            return HealthCheckResult.unhealthy(f"cannot connect: {exc}")
        try:
            cur = conn.cursor()
            try:
                cur.execute(self.query)
                cur.fetchall()
            finally:
                cur.close()
        except Exception as exc:
            return HealthCheckResult.unhealthy(f"connected, but {self.query!r} failed: {exc}")
        finally:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                conn.close()
        ms = (time.perf_counter() - started) * 1000
        return HealthCheckResult.healthy(f"connected, query ok in {ms:.0f} ms",
                                         latency_ms=round(ms, 1))

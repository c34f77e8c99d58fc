"""DatabaseHealthCheck on real SQLite files: healthy, corrupted, missing; and DB-API mode."""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from pathlib import Path

from health_helpers import ManualClock

from timeline_telemetry.health import DatabaseHealthCheck, HealthStatus


def corrupt(path: Path) -> None:
    """Overwrite 8 KiB in the middle of the file (a few pages of table and index)."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 8192)


def test_healthy_then_corrupted(sqlite_file: Path) -> None:
    check = DatabaseHealthCheck(sqlite_file, integrity_interval=0)
    assert check.name == "database:app.sqlite3"
    ok = check.check()
    assert ok.status is HealthStatus.HEALTHY, ok.message
    assert ok.metadata["integrity"] == "ok" and ok.metadata["tables"] == 2
    corrupt(sqlite_file)
    bad = check.check()
    assert bad.status is HealthStatus.UNHEALTHY
    assert "failed its integrity check" in bad.message or "unreadable" in bad.message


def test_the_check_never_writes_the_file(sqlite_file: Path) -> None:
    before = hashlib.sha256(sqlite_file.read_bytes()).hexdigest()
    files_before = sorted(p.name for p in sqlite_file.parent.iterdir())
    DatabaseHealthCheck(sqlite_file, integrity_interval=0).check()
    assert hashlib.sha256(sqlite_file.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in sqlite_file.parent.iterdir()) == files_before


def test_missing_file_is_unhealthy_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.sqlite3"
    r = DatabaseHealthCheck(path).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.endswith("does not exist")
    assert not path.exists()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not an sqlite file at all " * 200)
    r = DatabaseHealthCheck(path).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "unreadable" in r.message


def test_quick_check_runs_at_most_every_integrity_interval(sqlite_file: Path) -> None:
    clock = ManualClock()
    check = DatabaseHealthCheck(sqlite_file, integrity_interval=3600, clock=clock)
    assert "integrity ok," in check.check().message  # first run: full quick_check
    clock.advance(60)
    second = check.check()
    assert second.status is HealthStatus.HEALTHY
    assert "integrity ok 60s ago" in second.message  # cheap open only
    clock.advance(3600)
    assert "integrity ok," in check.check().message  # due again


def test_dbapi_connect_callable(sqlite_file: Path) -> None:
    check = DatabaseHealthCheck(connect=functools.partial(sqlite3.connect, sqlite_file),
                                query="SELECT count(*) FROM clips", name="catalog")
    r = check.check()
    assert check.name == "catalog"
    assert r.status is HealthStatus.HEALTHY and r.message.startswith("connected, query ok")


def test_dbapi_failures(sqlite_file: Path, tmp_path: Path) -> None:
    bad_query = DatabaseHealthCheck(connect=functools.partial(sqlite3.connect, sqlite_file),
                                    query="SELECT * FROM no_such_table")
    r = bad_query.check()
    assert r.status is HealthStatus.UNHEALTHY and "no such table" in r.message

    def refuse() -> sqlite3.Connection:
        raise ConnectionRefusedError("server at db.local:5432 refused the connection")

    r = DatabaseHealthCheck(connect=refuse).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message == "cannot connect: server at db.local:5432 refused the connection"

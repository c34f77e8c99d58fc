"""Bad files are moved aside and a fresh history starts; a killed writer loses nothing flushed."""

from __future__ import annotations

import logging
import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from timeline_telemetry.history import HistoryError, HistoryStore
from timeline_telemetry.metrics.model import FlatSample


def write_some(store: HistoryStore, ts: float) -> None:
    store.append(ts, [FlatSample("x", (("k", "v"),), 1.0)])
    store.flush()


def moved_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name)


def assert_fresh_and_working(store: HistoryStore, ts: float) -> None:
    assert store.names() == []
    write_some(store, ts)
    assert store.query("x", start=ts, end=ts)[0].points == [(ts, 1.0)]


def test_garbage_file_is_moved_aside(make_store, clock, tmp_path, caplog) -> None:
    db = tmp_path / "history.sqlite3"
    db.write_bytes(b"this is not an sqlite file\n" * 200)
    with caplog.at_level(logging.WARNING):
        store = make_store()
    assert moved_files(tmp_path) == ["history.sqlite3.corrupt-20231114T220000Z"]
    assert (tmp_path / "history.sqlite3.corrupt-20231114T220000Z").read_bytes().startswith(
        b"this is not"
    )
    assert "unusable" in caplog.text and "corrupt-20231114T220000Z" in caplog.text
    assert_fresh_and_working(store, clock.now)


def test_damaged_pages_are_detected(make_store, clock, tmp_path) -> None:
    store = make_store()
    for i in range(2000):
        store.append(clock.now + i, [FlatSample("x", (("i", str(i % 50)),), float(i))])
    store.flush()
    store.close()
    db = tmp_path / "history.sqlite3"
    size = db.stat().st_size
    assert size > 8 * 4096
    with db.open("r+b") as f:  # keep the header, trash the b-tree pages after it
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    store2 = make_store()
    assert len(moved_files(tmp_path)) == 1
    assert_fresh_and_working(store2, clock.now)


def test_newer_schema_version_is_moved_aside(make_store, clock, tmp_path) -> None:
    make_store().close()
    db = tmp_path / "history.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version=99")
    conn.close()
    store = make_store()
    assert len(moved_files(tmp_path)) == 1
    assert_fresh_and_working(store, clock.now)


def test_foreign_sqlite_file_is_moved_aside(make_store, clock, tmp_path) -> None:
    db = tmp_path / "history.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes(text)")
    conn.close()
    store = make_store()
    assert len(moved_files(tmp_path)) == 1
    assert_fresh_and_working(store, clock.now)


def test_two_bad_files_in_the_same_second_keep_both(make_store, clock, tmp_path) -> None:
    db = tmp_path / "history.sqlite3"
    db.write_bytes(b"x" * 5000)
    make_store().close()
    db.write_bytes(b"y" * 5000)
    make_store().close()
    assert len(moved_files(tmp_path)) == 2


def test_unopenable_path_is_an_error_not_a_move(tmp_path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(HistoryError, match=r"dir\.sqlite3"):
        HistoryStore(tmp_path / "dir.sqlite3", retention=3600)
    assert moved_files(tmp_path) == []


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from timeline_telemetry.history import HistoryStore
    from timeline_telemetry.metrics.model import FlatSample

    store = HistoryStore(Path(sys.argv[1]), retention=3600)
    t0 = float(sys.argv[2])
    for i in range(50):
        store.append(t0 + i, [FlatSample("x", (("i", str(j)),), float(i)) for j in range(10)])
        store.flush()
    store.append(t0 + 60, [FlatSample("unflushed", (), 1.0)])
    print("ready", flush=True)
    sys.stdin.read()  # wait to be killed
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_after_flush_loses_nothing_flushed(tmp_path) -> None:
    db = tmp_path / "history.sqlite3"
    t0 = time.time() - 120
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), repr(t0)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "child did not report ready within 60 s"
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert Path(str(db) + "-wal").exists()  # the data lived only in the WAL
    with HistoryStore(db, retention=3600) as store:
        series = store.query("x", start=t0, end=t0 + 100)
        assert len(series) == 10
        for s in series:
            assert [v for _, v in s.points] == [float(i) for i in range(50)]
        assert store.query("unflushed", start=t0, end=t0 + 100) == []


def test_corruption_found_at_run_time_starts_a_fresh_file(make_store, clock, tmp_path,
                                                           caplog) -> None:
    store = make_store()
    for i in range(2000):
        store.append(clock.now + i, [FlatSample("x", (("i", str(i % 50)),), float(i))])
    store.flush()
    db = tmp_path / "history.sqlite3"
    with sqlite3.connect(db) as other:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    with pytest.raises(HistoryError, match=r"malformed|not a database"):
        store.query("x", start=clock.now, end=clock.now + 2000)
    with caplog.at_level(logging.WARNING):
        write_some(store, clock.now + 5000)
    assert "corrupt" in caplog.text
    assert len(moved_files(tmp_path)) == 1
    assert store.names() == ["x"]
    assert store.query("x", start=clock.now, end=clock.now + 6000)[0].points == [
        (clock.now + 5000, 1.0)
    ]

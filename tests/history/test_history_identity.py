"""The history file removed (alone, or with its folder) or replaced under an open store:
``reopen_if_replaced`` notices, rebuilds a removed file from the open one, keeps writing."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from timeline_telemetry.history import HistoryStore
from timeline_telemetry.history.identity import file_id
from timeline_telemetry.metrics.model import FlatSample


def write(store: HistoryStore, ts: float, value: float) -> None:
    store.append(ts, [FlatSample("x", (("k", "v"),), value)])
    store.flush()


def test_nothing_happens_while_the_path_names_the_open_file(make_store) -> None:
    store = make_store()
    assert store.file_identity == file_id(store.path)
    assert store.reopen_if_replaced() is None


def test_a_removed_file_is_rebuilt_from_the_open_one(make_store, clock, caplog) -> None:
    store = make_store()
    write(store, clock.now, 1.0)
    store.path.unlink()
    with caplog.at_level(logging.WARNING):
        said = store.reopen_if_replaced()
    assert said is not None and "was removed while in use" in said and "history kept" in said
    assert said in caplog.text
    assert store.path.exists() and store.file_identity == file_id(store.path)
    write(store, clock.now + 1, 2.0)
    assert store.query("x", start=clock.now, end=clock.now + 1)[0].points == [
        (clock.now, 1.0), (clock.now + 1, 2.0)]
    assert store.reopen_if_replaced() is None


def test_a_removed_folder_is_recreated(make_store, clock, tmp_path: Path) -> None:
    store = make_store(tmp_path / "data" / "history.sqlite3")
    write(store, clock.now, 1.0)
    shutil.rmtree(tmp_path / "data")
    said = store.reopen_if_replaced()
    assert said is not None and "removed with its folder" in said
    write(store, clock.now + 1, 2.0)
    store.close()
    conn = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    try:
        assert conn.execute("SELECT COUNT(*) FROM samples_raw").fetchone()[0] == 2
    finally:
        conn.close()


def test_a_replacing_file_is_opened_as_it_is(make_store, clock, tmp_path: Path) -> None:
    store = make_store()
    write(store, clock.now, 1.0)
    other = make_store(tmp_path / "other.sqlite3")
    write(other, clock.now, 5.0)
    other.close()
    (tmp_path / "other.sqlite3").replace(store.path)
    said = store.reopen_if_replaced()
    assert said is not None and "replaced by another file" in said
    assert store.query("x", start=clock.now, end=clock.now)[0].points == [(clock.now, 5.0)]

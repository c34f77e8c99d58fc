"""HistoryStore basics on a real SQLite file: round trip, restart, buffering, CSV, limits."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from pathlib import Path

import pytest

from timeline_telemetry import history
from timeline_telemetry.history import HistoryError, HistoryStore, SeriesData, Tier
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.metrics.model import FlatSample


def raw_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM samples_raw").fetchone()[0])


def test_public_names_are_exported() -> None:
    for name in history.__all__:
        assert getattr(history, name) is not None
    assert set(history.__all__) >= {"HistoryStore", "LabelMatcher", "SeriesData"}


def test_round_trip(make_store, clock) -> None:
    store = make_store()
    t = clock.now
    store.append(t, [
        FlatSample("cpu_percent", (("core", "0"),), 12.5),
        FlatSample("cpu_percent", (("core", "1"),), 50.0),
        FlatSample("up", (), 1.0),
    ])
    store.append(t + 10, [FlatSample("cpu_percent", (("core", "0"),), 13.25)])
    store.flush()

    got = store.query("cpu_percent", {"core": "0"}, start=t - 1, end=t + 60)
    assert got == [SeriesData("cpu_percent", (("core", "0"),), [(t, 12.5), (t + 10, 13.25)])]
    both = store.query("cpu_percent", start=t - 1, end=t + 60)
    assert [s.labels for s in both] == [(("core", "0"),), (("core", "1"),)]
    assert store.query("up", start=t, end=t)[0].points == [(t, 1.0)]
    assert store.query("cpu_percent", start=t + 11, end=t + 60) == []
    assert store.query("nope", start=t - 1, end=t + 60) == []
    assert store.names() == ["cpu_percent", "up"]
    assert store.series("cpu") == [
        ("cpu_percent", (("core", "0"),)),
        ("cpu_percent", (("core", "1"),)),
    ]
    assert store.time_range() == (t, t + 10)


def test_real_snapshot_with_unsorted_le_labels_and_nan(make_store, clock) -> None:
    m = Metrics(clock=clock)
    m.record_histogram("api_request_duration_ms", 7.0, {"method": "GET"})
    m.record_summary("render_seconds", 1.0)  # quantiles are real numbers
    snap = m.snapshot()
    store = make_store()
    store.append(snap.timestamp, snap.flat_samples())
    store.append(snap.timestamp + 1, [FlatSample("gap", (), math.nan)])
    store.flush()

    buckets = store.query(
        "api_request_duration_ms_bucket", {"le": "10.0"}, start=clock.now, end=clock.now
    )
    # FlatSample puts "le" last; the store sorts labels.
    assert buckets[0].labels == (("le", "10.0"), ("method", "GET"))
    assert buckets[0].points == [(clock.now, 1.0)]
    assert len(store.series("api_request_duration_ms_bucket")) == len(
        [s for s in snap.flat_samples() if s.name == "api_request_duration_ms_bucket"]
    )
    (gap,) = store.query("gap", start=clock.now, end=clock.now + 1)
    assert math.isnan(gap.points[0][1])


def test_append_buffers_until_flush(make_store, clock, tmp_path) -> None:
    store = make_store()
    store.append(clock.now, [FlatSample("x", (), 1.0)])
    assert raw_count(tmp_path / "history.sqlite3") == 0
    store.flush()
    assert raw_count(tmp_path / "history.sqlite3") == 1


def test_restart_keeps_data_and_series_ids(make_store, clock, tmp_path) -> None:
    store = make_store()
    t = clock.now
    store.append(t, [FlatSample("disk", (("mountpoint", "/"),), 100.0)])
    store.close()

    again = make_store()
    assert again.query("disk", start=t, end=t)[0].points == [(t, 100.0)]
    again.append(t + 10, [FlatSample("disk", (("mountpoint", "/"),), 90.0)])
    again.close()  # close flushes

    third = make_store()
    assert third.query("disk", start=t, end=t + 10)[0].points == [(t, 100.0), (t + 10, 90.0)]
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == 1


def test_same_timestamp_twice_keeps_the_last(make_store, clock) -> None:
    store = make_store()
    store.append(clock.now, [FlatSample("x", (), 1.0)])
    store.append(clock.now, [FlatSample("x", (), 2.0)])
    store.flush()
    assert store.query("x", start=clock.now, end=clock.now)[0].points == [(clock.now, 2.0)]


def test_close_is_idempotent_and_final(make_store, clock) -> None:
    with make_store() as store:
        store.append(clock.now, [FlatSample("x", (), 1.0)])
    store.close()
    with pytest.raises(HistoryError, match="closed"):
        store.append(clock.now, [FlatSample("x", (), 1.0)])
    with pytest.raises(HistoryError, match="closed"):
        store.query("x", start=0, end=clock.now)


def test_samples_older_than_raw_retention_are_dropped(make_store, clock) -> None:
    store = make_store(raw_retention=600)
    store.append(clock.now - 3600, [FlatSample("x", (), 1.0)])
    store.append(clock.now, [FlatSample("x", (), 2.0)])
    store.flush()
    assert store.dropped_samples == 1
    assert store.query("x", start=0, end=clock.now)[0].points == [(clock.now, 2.0)]


def test_series_limit_drops_new_series_only(make_store, clock, caplog) -> None:
    store = make_store(max_series=2)
    store.append(clock.now, [FlatSample("s", (("i", str(i)),), float(i)) for i in range(5)])
    store.flush()
    assert len(store.series()) == 2
    assert store.dropped_samples == 3
    assert "over the limit of 2 series" in caplog.text
    store.append(clock.now + 1, [FlatSample("s", (("i", "0"),), 9.0)])
    store.flush()
    assert store.dropped_samples == 3


def test_bad_arguments(make_store, tmp_path, clock) -> None:
    with pytest.raises(ValueError, match="retention"):
        HistoryStore(tmp_path / "h.db", retention=0)
    store = make_store()
    with pytest.raises(ValueError, match="max_points"):
        store.query("x", start=0, end=1, max_points=0)
    with pytest.raises(ValueError):
        store.query("x", start=0, end=1, stat="median")


def test_export_csv(make_store, clock) -> None:
    store = make_store()
    t = clock.now
    for i in range(3):
        store.append(t + i * 10, [
            FlatSample("a", (("mountpoint", "/media;x=1"),), float(i)),
            FlatSample("b", (), math.nan if i == 1 else 0.5),
        ])
    store.flush()
    out = io.StringIO()
    n = store.export_csv(out, start=t, end=t + 20)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == 6
    assert list(rows[0]) == ["timestamp", "name", "labels", "value", "min", "max", "count",
                             "tier"]
    first = rows[0]
    assert first["timestamp"] == "2023-11-14T22:00:00.000Z"
    assert first["name"] == "a"
    assert json.loads(first["labels"]) == {"mountpoint": "/media;x=1"}
    assert (first["value"], first["min"], first["max"], first["count"], first["tier"]) == (
        "0.0", "0.0", "0.0", "1", Tier.RAW.value,
    )
    assert [r["value"] for r in rows if r["name"] == "b"] == ["0.5", "NaN", "0.5"]

    merged = io.StringIO()
    assert store.export_csv(merged, start=t, end=t + 20, max_points_per_series=1) == 2
    a_row = next(csv.DictReader(io.StringIO(merged.getvalue())))
    assert (a_row["value"], a_row["min"], a_row["max"], a_row["count"]) == (
        "1.0", "0.0", "2.0", "3",
    )


def test_size_bytes_counts_the_files(make_store, clock, tmp_path) -> None:
    store = make_store()
    store.append(clock.now, [FlatSample("x", (), 1.0)])
    store.flush()
    db = tmp_path / "history.sqlite3"
    assert store.size_bytes() >= db.stat().st_size > 0


def test_a_second_store_on_the_same_file_sees_new_series(make_store, clock) -> None:
    writer = make_store()
    reader = HistoryStore.open(writer.path, retention=3600, clock=clock)
    try:
        assert reader.names() == []
        writer.append(clock.now, [FlatSample("late_series", (("a", "b"),), 3.0)])
        writer.flush()
        (s,) = reader.query("late_series", start=clock.now, end=clock.now)
        assert s.points == [(clock.now, 3.0)]
    finally:
        reader.close()


def test_a_store_only_read_from_never_prunes(make_store, clock, feed) -> None:
    writer = make_store()
    t0 = clock.now
    feed(writer, start=t0, end=t0 + 1800, step=60, samples=lambda ts: [FlatSample("x", (), 1.0)])
    writer.close()
    clock.now = t0 + 30 * 86400  # a reader with a short retention, far in the future
    reader = make_store(retention=60, raw_retention=60)
    reader.close()
    clock.now = t0 + 1800
    again = make_store()
    (s,) = again.query("x", start=t0, end=t0 + 1800, tier=Tier.RAW)
    assert len(s.points) == 30

"""The bundle's metric history: full resolution over the last 30 minutes and the incident,
coarser before; histograms summarised; processes.json's editor from the history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import psutil
from bundle_fixtures import Planted, fake_run

from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics.model import FlatSample

_LES = ("0.01", "0.1", "1", "+Inf")


def _plant_history(planted: Planted, *, incident_at: float | None) -> float:
    """Raw points every second over 2 h; Unhealthy for 2 minutes from ``incident_at``
    (seconds before now). Returns the time the history ends."""
    now = planted.now
    start = now - 2 * 3600
    path = planted.paths.data_dir / "history.sqlite3"
    path.unlink()
    clock = [start]  # written as it happened: maintenance rolls up what ages
    with HistoryStore(path, retention=86400, clock=lambda: clock[0]) as store:
        for i in range(2 * 3600):
            ts = clock[0] = start + i
            bad = incident_at is not None and now - incident_at <= ts < now - incident_at + 120
            n = float(i + 1)
            store.append(ts, [
                FlatSample("system_cpu_usage_percent", (), float(i % 100)),
                FlatSample("system_health_status", (), 3.0 if bad else 1.0),
                *[FlatSample("health_check_duration_seconds_bucket",
                             (("check", "disk"), ("le", le)), n if le != "0.01" else 0.0)
                  for le in _LES],
                FlatSample("health_check_duration_seconds_count", (("check", "disk"),), n),
                FlatSample("health_check_duration_seconds_sum", (("check", "disk"),), n * 0.05),
                FlatSample("editor_up", (), 1.0),
                FlatSample("editor_cpu_usage_percent", (), 180.0 if bad else 20.0),
                FlatSample("editor_child_processes", (("name", "ffmpeg"),), 2.0 if bad else 0.0),
            ])
            if i % 60 == 59:
                store.flush()
        store.flush()
    return start + 2 * 3600 - 1


def _bundle(planted: Planted, out: Path) -> dict[str, bytes]:
    result = build_bundle(
        config=planted.config, paths=planted.paths, out=out, since_s=2 * 3600,
        environ=planted.environ, keyring_get=planted.keyring_get, psutil_mod=psutil,
        run=fake_run, editor_log_globs=[planted.editor_glob], process_sample_s=0.01,
        run_health_checks=False, clock=lambda: planted.now,
    )
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _ts(row: dict[str, str]) -> float:
    return dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()


def _cpu_rows(files: dict[str, bytes]) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(files["metrics/history.csv"].decode())))
    return [r for r in rows if r["name"] == "system_cpu_usage_percent"]


def test_full_resolution_for_the_incident_and_the_last_30_minutes(
    planted: Planted, tmp_path: Path
) -> None:
    end = _plant_history(planted, incident_at=50 * 60)
    files = _bundle(planted, tmp_path / "b.zip")
    cpu = _cpu_rows(files)
    detail_from = planted.now - 55 * 60  # 5 minutes before the incident
    raw = [r for r in cpu if _ts(r) >= detail_from - 0.5]
    # every raw point from 5 minutes before the incident to the end, none merged
    assert len(raw) == round(end - detail_from) + 1
    assert all(r["count"] == "1" for r in raw)
    older = [r for r in cpu if _ts(r) < detail_from - 0.5]
    # before: buckets of a minute or more (as coarse as the store keeps them there), that
    # together still account for the samples of the 65 minutes (less the part of the
    # window's first 15-minute bucket, stamped before the window starts)
    assert 3 <= len(older) <= 70
    assert sum(int(r["count"]) for r in older) >= 50 * 60
    rows = list(csv.DictReader(io.StringIO(files["metrics/history.csv"].decode())))
    names = {r["name"] for r in rows}
    assert "health_check_duration_seconds_bucket" not in names
    assert {"health_check_duration_seconds_count", "health_check_duration_seconds_sum",
            "health_check_duration_seconds_p50", "health_check_duration_seconds_p95"} <= names
    p95 = next(r for r in rows if r["name"] == "health_check_duration_seconds_p95")
    assert p95["labels"] == '{"check":"disk"}' and 0.01 < float(p95["value"]) <= 0.1
    manifest = json.loads(files["manifest.json"])
    (desc,) = [f["description"] for f in manifest["files"] if f["name"] == "metrics/history.csv"]
    assert "incident" in desc and "_p95" in desc


def test_without_an_incident_only_the_last_30_minutes_are_full(
    planted: Planted, tmp_path: Path
) -> None:
    end = _plant_history(planted, incident_at=None)
    cpu = _cpu_rows(_bundle(planted, tmp_path / "b.zip"))
    detail_from = planted.now - 30 * 60
    raw = [r for r in cpu if _ts(r) >= detail_from - 0.5]
    assert len(raw) == round(end - detail_from) + 1
    assert all(r["count"] == "1" for r in raw)
    # before: at most one row a minute (a bucket at the seam between the rolled-up and the
    # raw tier may hold a single sample: its count says so) that account for the samples of
    # the 90 minutes, less the part of the first 15-minute bucket stamped before the window
    older = [r for r in cpu if _ts(r) < detail_from - 0.5]
    assert len(older) <= 91
    assert sum(int(r["count"]) for r in older) >= 75 * 60


def test_processes_has_the_editor_over_the_window_and_the_live_sample(
    planted: Planted, tmp_path: Path
) -> None:
    _plant_history(planted, incident_at=50 * 60)
    procs = json.loads(_bundle(planted, tmp_path / "b.zip")["processes.json"])
    assert procs["top_by_cpu"] and procs["top_by_memory"]  # the live sample, as before
    editor = procs["editor_over_window"]
    assert editor["totals"]["editor_up"]["last"] == 1.0
    assert editor["totals"]["editor_cpu_usage_percent"]["max"] == 180.0
    (child,) = editor["children_by_name"]
    assert child["name"] == "ffmpeg" and child["count"]["max"] == 2.0

"""Times in the bundle are local RFC 3339 with an offset; system.json says where and when
the workstation is and lists the drives the configuration names."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from bundle_fixtures import fake_run

from timeline_telemetry.alerts.store import AlertEvent, AlertStore, alerts_from_file
from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import build_bundle, manager_providers
from timeline_telemetry.diagnostics.hostinfo import time_zone
from timeline_telemetry.diagnostics.timefmt import (
    is_time_key,
    local_rfc3339,
    localize_times,
    utc_offset,
)
from timeline_telemetry.history.model import LabelMatcher
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
_TIME_WORDS = {"time", "ts", "at", "when", "since", "boot", "timestamp"}


def _time_fields(value: object, path: str = "") -> list[tuple[str, object]]:
    """Every (path, value) whose key names a point in time (split on _ and camelCase);
    durations (``*_s``, ``*_seconds``) are not times."""
    out: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", k) if w]
            here = f"{path}.{k}"
            if words and words[-1] not in {"s", "seconds"} and _TIME_WORDS & set(words) \
                    and not isinstance(v, dict | list):
                out.append((here, v))
            else:
                out.extend(_time_fields(v, here))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_time_fields(v, f"{path}[{i}]"))
    return out


def _no_epoch_times(doc: object, name: str) -> int:
    fields = [(p, v) for p, v in _time_fields(doc) if v is not None]
    for p, v in fields:
        assert isinstance(v, str) and RFC3339.match(v), f"{name}{p} = {v!r}"
    return len(fields)


def test_a_bundle_has_only_rfc3339_times_and_the_configured_drives(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l").ensure()
    media = tmp_path / "media-drive"
    media.mkdir()
    config = parse_config({"telemetry": {
        "metrics": {"exporters": [], "history": {"enabled": False}},
        "ingest": {"otlp": {"enabled": False}},
        "health": {"checks": [{"Memory": {"max_used_fraction": 1.0, "warning_margin": 0.0}}]},
    }}, source="test", base_dir=tmp_path)
    config = replace(config, editor=replace(config.editor, media_dirs=(str(media),),
                                            cache_dirs=(str(tmp_path / "not-created"),)))
    now = time.time()
    store = AlertStore(paths.data_dir / "alerts.sqlite3")
    store.record([AlertEvent(now - 60, "DiskFull", {"alertname": "DiskFull"}, "firing", 99.0,
                             {"summary": "media drive full"})])
    store.save_active([({"alertname": "DiskFull"}, now - 120, now - 60, now - 59)])
    store.add_silence([LabelMatcher("alertname", "=", "DiskFull")], starts_at=now,
                      ends_at=now + 3600, created_by="me", comment="known")
    store.close()

    manager = TelemetryManager(config, paths=paths)
    manager.initialize()
    try:
        manager.collect_once()
        assert manager.health is not None
        manager.health.check_all(force=True)
        live = manager_providers(manager,
                                 alerts=lambda: alerts_from_file(paths.data_dir / "alerts.sqlite3"))
        result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", since_s=600,
                              providers=live, environ={"LANG": "de_DE.UTF-8"},
                              psutil_mod=psutil, run=fake_run, process_sample_s=0.0)
    finally:
        manager.shutdown()
    with zipfile.ZipFile(result.path) as zf:  # type: ignore[arg-type]
        docs = {n: json.loads(zf.read(n)) for n in
                ("health.json", "alerts.json", "export_status.json", "system.json")}

    counts = {n: _no_epoch_times(doc, n) for n, doc in docs.items()}
    # The walk saw the fields that were epoch floats before: health timestamps, transition
    # times, alert times (active, history, silences) and the boot time.
    assert counts["health.json"] >= 3 and counts["alerts.json"] >= 6
    assert counts["system.json"] >= 2
    assert docs["alerts.json"]["history"][0]["ts"] == local_rfc3339(now - 60)

    system = docs["system.json"]
    tz = system["time_zone"]
    assert tz["name"] and RFC3339.match(tz["now"])
    assert re.fullmatch(r"[+-]\d\d:\d\d", tz["utc_offset"])
    assert tz["utc_offset_seconds"] == utc_offset(now)[1]
    assert system["locale"]["environment"] == {"LANG": "de_DE.UTF-8"}
    assert system["uptime"]["seconds"] > 0 and RFC3339.match(system["uptime"]["boot_time"])
    assert "name" in system["distribution"] or "error" in system["distribution"]
    assert isinstance(system["host_name"], str) and system["host_name"]

    drives = {d["path"]: d for d in system["configured_drives"]}
    m = drives[str(media)]
    assert m["roles"] == ["media_dir"] and m["exists"] is True
    assert m["fstype"] and m["mountpoint"]
    assert isinstance(m["free_bytes"], int) and m["free_bytes"] > 0 and m["total_bytes"] > 0
    missing = drives[str(tmp_path / "not-created")]
    assert missing["exists"] is False and missing["measured_path"] == str(tmp_path)
    assert missing["free_bytes"] > 0
    assert drives[str(paths.data_dir)]["roles"] == ["data_dir"]


def test_local_rfc3339_carries_the_offset_of_that_instant() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    ts = dt.datetime(2026, 12, 5, 20, 7, 19, 743000, tzinfo=dt.UTC).timestamp()
    assert local_rfc3339(ts, tz=cet) == "2026-12-05T21:07:19.743+01:00"
    assert utc_offset(ts, tz=dt.timezone(dt.timedelta(hours=-3, minutes=-30))) == \
        ("-03:30", -12600)


@pytest.mark.parametrize(("key", "is_time"), [
    ("ts", True), ("when", True), ("active_at", True), ("activeAt", True),
    ("boot_time", True), ("timestamp", True), ("started_at", True), ("ends_at", True),
    ("since_s", False), ("uptime_seconds", False), ("age_seconds", False),
    ("timeout", False), ("state", False), ("status", False), ("boot_time_unix", False),
    ("duration_seconds", False), ("data", False),
])
def test_time_keys(key: str, is_time: bool) -> None:
    assert is_time_key(key) is is_time


def test_localize_times_converts_epochs_and_utc_strings_and_keeps_the_rest() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    ts = dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC).timestamp()
    doc = {"ts": ts, "active_at_ms": ts * 1000, "when": "2026-12-05T20:00:00Z",
           "activeAt": "2026-12-05T20:00:00.000+00:00", "local_time": "2026-12-05 20:00",
           "timestamp": None, "since_s": 600.0, "age_seconds": 3.5, "at": 0,
           "nested": [{"fired_at": ts, "value": ts}], "flag_at": True}
    out = localize_times(doc, tz=cet)
    want = "2026-12-05T21:00:00.000+01:00"
    assert out == {"ts": want, "active_at_ms": want, "when": want, "activeAt": want,
                   "local_time": "2026-12-05 20:00", "timestamp": None, "since_s": 600.0,
                   "age_seconds": 3.5, "at": 0, "nested": [{"fired_at": want, "value": ts}],
                   "flag_at": True}


def test_time_zone_names_the_iana_zone_from_tz() -> None:
    tz = time_zone(time.time(), environ={"TZ": "Europe/Berlin"})
    assert tz["name"] == "Europe/Berlin"
    assert re.fullmatch(r"[+-]\d\d:\d\d", str(tz["utc_offset"]))


def test_a_bundle_from_the_agent_api_converts_its_epoch_and_utc_times(tmp_path: Path) -> None:
    from timeline_telemetry.diagnostics.live import agent_api_providers
    from timeline_telemetry.health import HealthCheckManager, report_to_json
    from timeline_telemetry.runtime.client import LiveAgent
    from timeline_telemetry.runtime.instance import AgentInfo

    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l").ensure()
    config = parse_config({"telemetry": {"metrics": {"exporters": []},
                                         "ingest": {"otlp": {"enabled": False}}}},
                          source="test", base_dir=tmp_path)
    now = time.time()
    health = HealthCheckManager.from_config(config.health)
    try:
        body = report_to_json(health.report())  # the live /health body: epoch floats
    finally:
        health.stop(timeout_s=1.0)
    body["timestamp"] = now
    live = LiveAgent(
        info=AgentInfo(pid=1, mode="headless", version="0", started_at=now - 300, config="x",
                       data_dir=str(paths.data_dir)),
        status={"started_at": "2026-12-05T20:00:00.000+00:00", "uptime_seconds": 300.0,
                "exporters": {"traces:otlp:x": {"state": "Failed", "detail": "refused"}}},
        alerts=[{"labels": {"alertname": "DiskFull"}, "state": "firing",
                 "activeAt": "2026-12-05T20:01:00Z", "value": "99"}],
        health={**body, "transitions": [{"when": now - 5, "component": "disk"}]})
    result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", since_s=600,
                          providers=agent_api_providers(live, paths.data_dir / "none.sqlite3"),
                          environ={}, psutil_mod=psutil, run=fake_run, process_sample_s=0.0)
    with zipfile.ZipFile(result.path) as zf:  # type: ignore[arg-type]
        docs = {n: json.loads(zf.read(n)) for n in
                ("health.json", "alerts.json", "export_status.json")}
    for name, doc in docs.items():
        _no_epoch_times(doc, name)
    assert docs["health.json"]["timestamp"] == local_rfc3339(now)
    assert docs["health.json"]["transitions"][0]["when"] == local_rfc3339(now - 5)
    assert docs["alerts.json"]["active"][0]["activeAt"] == local_rfc3339(
        dt.datetime(2026, 12, 5, 20, 1, tzinfo=dt.UTC).timestamp())
    assert docs["export_status.json"]["exporters"]["traces:otlp:x"]["state"] == "Failed"

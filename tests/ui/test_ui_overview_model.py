"""The Overview's figures, the editor's state, the network rate and the tray value, from
real Snapshot and HealthReport objects (Qt-free), and the ui.json preferences."""

from __future__ import annotations

from pathlib import Path

import pytest

from timeline_telemetry.health import HealthCheckResult, HealthReport, HealthStatus
from timeline_telemetry.metrics import MetricFamily, MetricKind, MetricSpec, Series, Snapshot
from timeline_telemetry.ui.overview_model import (
    NetworkRate,
    drive_figures,
    editor_state,
    fmt_hours,
    fmt_rate,
    machine_figures,
    network_figure,
    tray_value,
)
from timeline_telemetry.ui.prefs import PREFS_FILE, UiPrefs, load_prefs, save_prefs

GIB = 2**30


def snap(ts: float, values: dict[str, float | list[tuple[dict[str, str], float]]],
         counters: tuple[str, ...] = ()) -> Snapshot:
    fams = []
    for name, v in values.items():
        rows = v if isinstance(v, list) else [({}, v)]
        kind = MetricKind.COUNTER if name in counters else MetricKind.GAUGE
        fams.append(MetricFamily(MetricSpec(name, kind, "h"),
                                 tuple(Series(tuple(sorted(lab.items())), x) for lab, x in rows)))
    return Snapshot(ts, tuple(fams))


def test_machine_figures_format_and_levels() -> None:
    s = snap(1.0, {
        "system_cpu_usage_percent": 97.0,
        "system_cpu_core_usage_percent": [({"core": "0"}, 90.0), ({"core": "1"}, 99.0)],
        "system_memory_usage_bytes": 6 * GIB, "system_memory_total_bytes": 16 * GIB,
        "gpu_utilization_percent": [({"gpu": "0"}, 42.0)],
        "gpu_memory_used_bytes": [({"gpu": "0"}, 3 * GIB)],
        "gpu_memory_total_bytes": [({"gpu": "0"}, 8 * GIB)],
        "process_gpu_utilization_percent": [({"gpu": "0", "name": "resolve", "role": "main"},
                                             40.0),
                                            ({"gpu": "0", "name": "obs", "role": "other"},
                                             2.0)],
    })
    figs = {f.key: f for f in machine_figures(s)}
    assert list(figs) == ["cpu", "gpu", "vram", "ram"]
    assert figs["cpu"].value == "97 %" and figs["cpu"].level == "bad"
    assert figs["cpu"].detail == "2 cores"
    assert figs["gpu"].value == "42 %" and "resolve" in figs["gpu"].detail
    assert figs["vram"].value == "3.0 GiB" and figs["vram"].detail == "of 8.0 GiB"
    assert figs["ram"].number == pytest.approx(6.0) and figs["ram"].level == "ok"
    empty = {f.key: f for f in machine_figures(None)}
    assert empty["gpu"].value == "n/a" and empty["gpu"].number is None


@pytest.mark.parametrize("names", [
    ("system_network_bytes_received_total", "system_network_bytes_sent_total"),
    ("system_network_bytes_received", "system_network_bytes_sent"),
])
def test_network_rate_from_either_name(names: tuple[str, str]) -> None:
    rx, tx = names
    rate = NetworkRate()
    lab = {"interface": "eth0"}
    assert rate.update(snap(10.0, {rx: [(lab, 1000.0)], tx: [(lab, 0.0)]}, names)) is None
    got = rate.update(snap(12.0, {rx: [(lab, 1000.0 + 4 * 2**20)], tx: [(lab, 2048.0)]},
                           names))
    assert got == (pytest.approx(2 * 2**20), pytest.approx(1024.0))
    fig = network_figure(got)
    assert fig.value == "↓ 2.0 MiB/s" and fig.detail == "↑ 1 KiB/s"
    # a counter reset (restart) gives no rate rather than a negative one
    assert rate.update(snap(13.0, {rx: [(lab, 5.0)], tx: [(lab, 5.0)]}, names)) is None


def test_editor_states_and_progress() -> None:
    assert editor_state(None).state == "not running"
    assert editor_state(snap(1, {"editor_up": 0.0})).text == "Not running"
    assert editor_state(snap(1, {"editor_up": 1.0, "editor_render_active": 0.0})).state == "idle"
    r = editor_state(snap(1, {"editor_up": 1.0, "editor_render_active": 1.0,
                              "editor_render_progress": 42.0}))
    assert (r.state, r.progress, r.text) == ("rendering", pytest.approx(0.42), "Rendering, 42%")
    e = editor_state(snap(1, {"editor_up": 1.0, "editor_render_active": 1.0,
                              "editor_export_active": 1.0,
                              "editor_export_progress_ratio": 0.5}))
    assert (e.state, e.progress) == ("exporting", 0.5)


def test_drive_figures_give_hours_of_footage() -> None:
    media = HealthCheckResult(HealthStatus.WARNING, "m", metadata={
        "free_bytes": 450 * 10**9, "footage_hours": 10.0, "footage_bitrate_mbps": 100.0,
        "used_fraction": 0.9})
    cache = HealthCheckResult(HealthStatus.HEALTHY, "c", metadata={
        "free_bytes": 100 * GIB, "used_fraction": 0.25})
    other = HealthCheckResult(HealthStatus.HEALTHY, "ok", metadata={})
    report = HealthReport(HealthStatus.WARNING, {"media": media, "cache": cache, "mem": other},
                          {}, frozenset(), 1, 0.0)
    figs = drive_figures(report)
    assert [f.key for f in figs] == ["drive:media", "drive:cache"]
    assert figs[0].value == "10 h of footage" and figs[0].level == "warn"
    assert "100 Mbit/s" in figs[0].detail
    assert figs[1].value == "100.0 GiB free" and figs[1].detail == "25% used"
    assert fmt_hours(0.5) == "30 min" and fmt_rate(300 * 1024) == "300 KiB/s"


def test_tray_value_choice() -> None:
    s = snap(1, {"system_cpu_usage_percent": 37.0, "system_memory_usage_bytes": 4 * GIB,
                 "system_memory_total_bytes": 16 * GIB,
                 "gpu_utilization_percent": [({"gpu": "0"}, 80.0)]})
    assert tray_value(s, "off") is None
    assert tray_value(s, "cpu") == 37.0
    assert tray_value(s, "ram") == pytest.approx(25.0)
    assert tray_value(s, "gpu") == 80.0
    assert tray_value(snap(1, {}), "gpu") is None


def test_prefs_round_trip_and_bad_file(tmp_path: Path) -> None:
    assert load_prefs(tmp_path) == UiPrefs("off")
    save_prefs(tmp_path, UiPrefs("gpu"))
    assert load_prefs(tmp_path).tray_value == "gpu"
    (tmp_path / PREFS_FILE).write_text("{not json")
    assert load_prefs(tmp_path).tray_value == "off"
    (tmp_path / PREFS_FILE).write_text('{"tray_value": "disk"}')
    assert load_prefs(tmp_path).tray_value == "off"
    with pytest.raises(ValueError):
        save_prefs(tmp_path, UiPrefs("disk"))

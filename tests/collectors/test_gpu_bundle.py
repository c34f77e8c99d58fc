"""The GPUs in the support bundle: ``processes.json``'s ``gpu_over_window`` from the history
(recorded NVML answers collected over an hour) and ``SUMMARY.md``'s GPU section listing the
GPU processes and the throttling over the window."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
from collector_helpers import ManualClock
from test_gpu_recorded import GTX1070, RTX4090, collector

from support import markdown_sections
from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.diagnostics.gpu_window import gpu_over_window, gpu_summary_lines
from timeline_telemetry.diagnostics.summary import summary_markdown
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.paths import AppPaths

TIMES = {"created_at": "2026-09-21T12:00:00+02:00", "start": "2026-09-21T10:00:00+02:00",
         "end": "2026-09-21T12:00:00+02:00"}


@pytest.fixture
def now() -> float:
    """The bundle's "now" (the history keeps raw points for the last hour of the real now)."""
    return float(int(time.time()))


def _plant(path: Path, recording: Path, now: float, *, minutes: int = 60,
           capped: bool = True) -> None:
    """One collection every 10 s for ``minutes`` up to now: with ``capped``, the render's
    first quarter power capped, the rest not."""
    col, nvml = collector(recording, clock=ManualClock())
    start = now - minutes * 60
    clock = [start]
    with HistoryStore(path, retention=86400, clock=lambda: clock[0]) as store:
        for i in range(minutes * 6):
            ts = clock[0] = start + i * 10
            if capped:
                nvml.set_answer(0, "nvmlDeviceGetCurrentClocksEventReasons",
                                4 if i < minutes * 6 // 4 else 0)
            store.append(ts, [FlatSample(s.name, s.labels, s.value) for s in col.collect()])
            if i % 60 == 59:
                store.flush()
        store.flush()


def test_the_window_from_the_history(tmp_path: Path, now: float) -> None:
    path = tmp_path / "h.sqlite3"
    _plant(path, RTX4090, now)
    with HistoryStore(path, retention=86400) as store:
        doc = gpu_over_window(store, start=now - 3600, end=now)
    assert doc is not None
    (dev,) = doc["devices"]  # type: ignore[misc]
    assert dev["gpu"] == "0" and dev["name"] == "NVIDIA GeForce RTX 4090"
    assert dev["utilization_percent"]["max"] == 87 and dev["power_watts"]["max"] == 447.912
    procs = doc["processes"]
    assert isinstance(procs, list) and len(procs) == 8
    assert (procs[0]["role"], procs[0]["name"]) == ("child", "ffmpeg")  # busiest first
    assert procs[0]["encoder_utilization_percent"]["max"] == 88
    assert "pid" not in json.dumps(doc)
    (throttled,) = doc["throttling"]  # type: ignore[misc]
    assert throttled["reason"] == "sw_power_cap"
    assert throttled["active_share"] == pytest.approx(0.25, abs=0.02)
    assert doc["editor"] == {"0": {
        "utilization_percent": {"avg": 24.0, "max": 24.0, "last": 24.0, "points": 240},
        "encoder_utilization_percent": {"avg": 88.0, "max": 88.0, "last": 88.0, "points": 240},
        "memory_bytes": {"avg": 1117782016.0, "max": 1117782016.0, "last": 1117782016.0,
                         "points": 240}}}
    lines = gpu_summary_lines(doc, {"gpu": {"kind": "gpu", "status": "Warning",
                                            "message": "GPU throttled during a render: ..."}})
    assert lines[0] == ("- GPU 0 (NVIDIA GeForce RTX 4090): utilisation avg 87% max 87%, "
                        "NVENC max 92%, power max 448 W, temperature max 74 C")
    assert lines[1].startswith("- processes on the GPU (max SM %, max VRAM): ffmpeg (the "
                               "editor's child, GPU 0) 21% 654 MB, blender (other, GPU 0) 31%")
    assert lines[2] == "- throttling over the window: GPU 0 power cap 25% of the time"
    assert lines[3] == "- check gpu: Warning: GPU throttled during a render: ..."


def test_no_gpu_series_no_gpu_window(tmp_path: Path, now: float) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path, retention=86400, clock=lambda: now) as store:
        store.append(now - 60, [FlatSample("system_cpu_usage_percent", (), 3.0)])
        store.flush()
        assert gpu_over_window(store, start=now - 3600, end=now) is None


def test_summarymarkdown_sections(tmp_path: Path, now: float) -> None:
    none = {"processes.json": json.dumps({"gpu_over_window": {
        "available": False, "note": "the history has no GPU series in the window"}}).encode()}
    gpu = markdown_sections(summary_markdown(none, **TIMES))["GPU"]
    assert gpu == "- not available: the history has no GPU series in the window"
    assert markdown_sections(summary_markdown({}, **TIMES))["GPU"] == "- nothing"
    path = tmp_path / "h.sqlite3"
    _plant(path, GTX1070, now, minutes=10, capped=False)
    with HistoryStore(path, retention=86400) as store:
        doc = gpu_over_window(store, start=now - 3600, end=now)
    assert doc is not None
    files = {"processes.json": json.dumps({"gpu_over_window": doc}).encode()}
    lines = markdown_sections(summary_markdown(files, **TIMES))["GPU"].splitlines()
    assert len(lines) == 4  # two devices, the processes, throttling
    assert lines[2] == ("- processes on the GPU (max SM %, max VRAM): unknown (other, GPU 0) "
                        "2% 1268 MB")
    assert lines[3] == "- throttling over the window: none (for heat, power or otherwise)"


def test_the_bundle_lists_gpu_processes_and_throttling(tmp_path: Path, now: float) -> None:
    cfg = parse_config({"telemetry": {"metrics": {"exporters": []},
                                      "ingest": {"otlp": {"enabled": False}}}},
                       source="test", base_dir=tmp_path)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    _plant(paths.data_dir / "history.sqlite3", RTX4090, now)
    result = build_bundle(config=cfg, paths=paths, out=tmp_path / "b.zip", environ={},
                          keyring_get=lambda s, n: None, run=lambda argv, t: "",
                          editor_log_globs=[], process_sample_s=0.0, run_health_checks=False,
                          clock=lambda: now)
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        summary = zf.read("SUMMARY.md").decode()
        procs = json.loads(zf.read("processes.json"))
    assert procs["gpu_over_window"]["throttling"][0]["reason"] == "sw_power_cap"
    gpu = markdown_sections(summary)["GPU"]
    assert "ffmpeg (the editor's child, GPU 0)" in gpu and "blender (other, GPU 0)" in gpu
    assert "GPU 0 power cap 25% of the time" in gpu
    assert len(summary.splitlines()) <= 70

"""The NVIDIA collector driven by recorded NVML answers (``nvml_recordings/*.json``, replayed
by ``RecordedNvml``): per-process and editor GPU use, encoder sessions, clocks, power,
throttle reasons, the NOT_SUPPORTED answers of consumer cards and the missing functions of
older drivers and bindings. No GPU is needed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from collector_helpers import FakeEditor, ManualClock, assert_catalogued, series, value, wait_for

from timeline_telemetry.collectors import build_collectors
from timeline_telemetry.collectors.base import Sample
from timeline_telemetry.collectors.editor import EditorProcessCollector, EditorProcessView
from timeline_telemetry.collectors.gpu import NvidiaGpuCollector
from timeline_telemetry.collectors.gpu_nvml import THROTTLE_REASONS
from timeline_telemetry.collectors.gpu_procs import MAX_OTHER_NAMES, REST, process_label
from timeline_telemetry.collectors.gpu_replay import RecordedNvml, load_recording, record
from timeline_telemetry.collectors.registry import FACTORIES, CollectorOptions

RECORDINGS = Path(__file__).with_name("nvml_recordings")
RTX4090 = RECORDINGS / "rtx4090_render_power_capped.json"
A4000 = RECORDINGS / "rtx_a4000_thermal_slowdown_windows.json"
GTX1070 = RECORDINGS / "gtx1070_driver530_two_gpus.json"
OLD = RECORDINGS / "gtx1070ti_old_driver.json"
DEV_4090 = {"gpu": "0", "name": "NVIDIA GeForce RTX 4090"}


def view_of(nvml: RecordedNvml) -> EditorProcessView:
    """The editor collector's view as the recording's scene describes it."""
    return EditorProcessView(main_pids=(), started_at=None, looked_at=0.0, scanned_at=0.0,
                             rescan_interval=60.0, members=nvml.editor_members)


def collector(path: Path | dict[str, Any], *, editor: bool = True, rendering: bool | None = None,
              clock: ManualClock | None = None) -> tuple[NvidiaGpuCollector, RecordedNvml]:
    nvml = RecordedNvml(path, count_calls=True)
    view = view_of(nvml)
    render = bool(nvml.recording.get("render_active")) if rendering is None else rendering
    col = NvidiaGpuCollector(nvml_module=nvml, editor_view=(lambda: view) if editor else None,
                             render_active=lambda: render,
                             **({"clock": clock} if clock is not None else {}))
    return col, nvml


def proc(samples: list[Sample] | Any, metric: str, role: str, name: str, gpu: str = "0") -> float:
    return value(samples, metric, gpu=gpu, role=role, name=name)


def names(samples: Any, metric: str) -> set[tuple[str, str]]:
    return {(dict(k)["role"], dict(k)["name"]) for k in series(samples, metric)}


# -- per process ----------------------------------------------------------------------------
def test_a_recorded_render_gives_every_process_by_role_and_name() -> None:
    col, _ = collector(RTX4090)
    s = col.collect()
    assert_catalogued(s)
    # the editor's two ffmpeg children summed under one name (newest sample of pid 4200)
    assert proc(s, "process_gpu_utilization_percent", "child", "ffmpeg") == 12 + 9
    assert proc(s, "process_gpu_encoder_utilization_percent", "child", "ffmpeg") == 47 + 41
    assert proc(s, "process_gpu_decoder_utilization_percent", "child", "ffmpeg") == 18
    assert proc(s, "process_gpu_memory_used_bytes", "child", "ffmpeg") == 373293056 + 312475648
    assert proc(s, "process_gpu_memory_used_bytes", "main", "timeline-studio") == 432013312
    assert proc(s, "process_gpu_utilization_percent", "main", "timeline-studio") == 3
    # the five busiest other names, the rest (python3 with memory only, steamwebhelper)
    others = {n for r, n in names(s, "process_gpu_memory_used_bytes") if r == "other"}
    assert others == {"blender", "obs", "firefox", "gnome-shell", "xorg", REST}
    assert proc(s, "process_gpu_memory_used_bytes", "other", REST) == 1287651328 + 125829120
    assert proc(s, "process_gpu_memory_used_bytes", "other", "obs") == 545259520  # in both lists
    # the editor and its children together
    assert value(s, "editor_gpu_utilization_percent", gpu="0") == 3 + 12 + 9
    assert value(s, "editor_gpu_encoder_utilization_percent", gpu="0") == 88
    assert value(s, "editor_gpu_memory_used_bytes", gpu="0") == (432013312 + 373293056
                                                                 + 312475648)
    assert value(s, "gpu_processes", **DEV_4090) == 10
    # no pid anywhere, and only the labels promised
    for sample in s:
        keys = {k for k, _ in sample.labels}
        assert "pid" not in keys
        if sample.name.startswith("process_gpu_"):
            assert keys == {"gpu", "role", "name"}
        elif sample.name.startswith("editor_gpu_"):
            assert keys == {"gpu"}


def test_encoder_sessions_per_device_and_per_process() -> None:
    col, _ = collector(RTX4090)
    s = col.collect()
    assert value(s, "gpu_encoder_sessions", **DEV_4090) == 3
    assert value(s, "gpu_encoder_fps", **DEV_4090) == 79
    assert value(s, "gpu_encoder_latency_seconds", **DEV_4090) == pytest.approx(0.003337)
    assert proc(s, "process_gpu_encoder_sessions", "child", "ffmpeg") == 2
    assert proc(s, "process_gpu_encoder_fps", "child", "ffmpeg") == 61 + 118
    assert proc(s, "process_gpu_encoder_latency_seconds", "child", "ffmpeg") == pytest.approx(
        (4210 + 2380) / 2 / 1e6)
    assert proc(s, "process_gpu_encoder_sessions", "other", "obs") == 1
    assert value(s, "editor_gpu_encoder_sessions", gpu="0") == 2
    assert value(s, "editor_gpu_encoder_fps", gpu="0") == 179
    # only names that encode have session series; no FBC on a GeForce (NOT_SUPPORTED)
    assert names(s, "process_gpu_encoder_sessions") == {("child", "ffmpeg"), ("other", "obs")}
    assert not series(s, "gpu_fbc_sessions")
    # FBC where the board has it: sessions, fps and latency only while sessions run
    col, nvml = collector(A4000)
    nvml.set_answer(0, "nvmlDeviceGetFBCStats",
                    {"sessionsCount": 1, "averageFPS": 30, "averageLatency": 16000})
    s = col.collect()
    dev = {"gpu": "0", "name": "NVIDIA RTX A4000"}
    assert value(s, "gpu_fbc_sessions", **dev) == 1
    assert value(s, "gpu_fbc_fps", **dev) == 30
    assert value(s, "gpu_fbc_latency_seconds", **dev) == pytest.approx(0.016)


def test_clocks_power_and_throttle_reasons_as_a_labelled_gauge() -> None:
    col, _ = collector(RTX4090)
    s = col.collect()
    assert value(s, "gpu_sm_clock_hertz", **DEV_4090) == 2520e6
    assert value(s, "gpu_memory_clock_hertz", **DEV_4090) == 10501e6
    assert value(s, "gpu_power_usage_watts", **DEV_4090) == pytest.approx(447.912)
    assert value(s, "gpu_power_limit_watts", **DEV_4090) == 450
    throttle = {dict(k)["reason"]: v for k, v in series(s, "gpu_throttle_reason").items()}
    assert throttle == {r: (1.0 if r == "sw_power_cap" else 0.0) for _, r in THROTTLE_REASONS}
    col, _ = collector(A4000)
    s = col.collect()
    active = {dict(k)["reason"] for k, v in series(s, "gpu_throttle_reason").items() if v}
    assert active == {"sw_thermal", "hw_thermal", "hw_slowdown"}
    # the enforced limit answers NOT_SUPPORTED there: the management limit is used
    assert value(s, "gpu_power_limit_watts", gpu="0", name="NVIDIA RTX A4000") == 140


# -- what consumer cards and older drivers answer --------------------------------------------
def test_not_supported_answers_leave_series_out_and_are_not_asked_again() -> None:
    col, nvml = collector(OLD, editor=False)
    s = col.collect()
    assert_catalogued(s)
    got = {x.name for x in s}
    assert got == {"gpu_utilization_percent", "gpu_memory_used_bytes", "gpu_memory_total_bytes",
                   "gpu_temperature_celsius", "gpu_sm_clock_hertz", "gpu_memory_clock_hertz",
                   "gpu_encoder_sessions"}
    off = col.unsupported()
    assert off["0:power:nvmlDeviceGetPowerUsage"] == "Not Supported"
    assert off["0:throttle:nvmlDeviceGetCurrentClocksEventReasons"] == "Function Not Found"
    assert off["0:throttle:nvmlDeviceGetCurrentClocksThrottleReasons"] == "Not Supported"
    assert "_v3" in off["0:compute_processes:nvmlDeviceGetComputeRunningProcesses"]
    assert off["0:compute_processes:nvmlDeviceGetComputeRunningProcesses_v2"] == (
        "Function Not Found")
    calls = dict(nvml.calls)
    assert col.collect() == s  # the same answers, and the refused calls are not repeated
    again = {k: v - calls.get(k, 0) for k, v in nvml.calls.items()}
    for refused in ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetProcessUtilization",
                    "nvmlDeviceGetComputeRunningProcesses",
                    "nvmlDeviceGetComputeRunningProcesses_v2",
                    "nvmlDeviceGetCurrentClocksThrottleReasons", "nvmlDeviceGetFBCStats"):
        assert again.get(refused, 0) == 0, refused
    assert again["nvmlDeviceGetUtilizationRates"] == 1


def test_an_older_driver_falls_back_to_the_older_functions() -> None:
    col, nvml = collector(GTX1070, editor=False)
    s = col.collect()  # no ClocksEventReasons before R535: the throttle reasons call answers
    assert value(s, "gpu_throttle_reason", gpu="1", name="NVIDIA GeForce GTX 1070",
                 reason="gpu_idle") == 1
    assert nvml.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 2
    # a driver without the _v3 process lists: the _v2 ones answer
    doc = load_recording(RTX4090)
    answers = doc["devices"][0]["answers"]
    for kind in ("Compute", "Graphics"):
        answers[f"nvmlDeviceGet{kind}RunningProcesses_v2"] = answers[
            f"nvmlDeviceGet{kind}RunningProcesses"]
        answers[f"nvmlDeviceGet{kind}RunningProcesses"] = {"error": "NVMLLibraryMismatchError"}
    col, nvml = collector(doc)
    s = col.collect()
    assert value(s, "gpu_processes", **DEV_4090) == 10
    assert proc(s, "process_gpu_memory_used_bytes", "main", "timeline-studio") == 432013312
    col.collect()
    assert nvml.calls["nvmlDeviceGetComputeRunningProcesses"] == 1  # not asked again
    assert nvml.calls["nvmlDeviceGetComputeRunningProcesses_v2"] == 2


def test_functions_missing_from_older_bindings_are_skipped() -> None:
    doc = load_recording(RTX4090)
    doc["absent"] = ["nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetEncoderSessions",
                     "nvmlDeviceGetProcessUtilization", "nvmlDeviceGetFBCStats"]
    col, _ = collector(doc)
    s = col.collect()
    assert value(s, "gpu_throttle_reason", reason="sw_power_cap", **DEV_4090) == 1
    assert not series(s, "process_gpu_utilization_percent")  # no per-process utilisation
    assert not series(s, "process_gpu_encoder_sessions")
    assert proc(s, "process_gpu_memory_used_bytes", "child", "ffmpeg") == 685768704
    assert col.unsupported()["0:process_utilization:nvmlDeviceGetProcessUtilization"] == (
        "not in this nvidia-ml-py")


def test_windows_names_and_memory_wddm_does_not_give() -> None:
    col, _ = collector(A4000)
    s = col.collect()
    assert names(s, "process_gpu_utilization_percent") == {
        ("main", "timeline-studio"), ("child", "ffmpeg"), ("other", "dwm")}
    assert not series(s, "process_gpu_memory_used_bytes")  # usedGpuMemory null under WDDM
    assert not series(s, "editor_gpu_memory_used_bytes")
    assert value(s, "gpu_processes", gpu="0", name="NVIDIA RTX A4000") == 3
    assert process_label(b"C:\\Program Files\\Timeline Studio\\Timeline-Studio.exe") == (
        "timeline-studio")
    assert process_label("/usr/bin/chrome --type=gpu-process --field-trial-handle=1") == "chrome"
    assert process_label("") == "unknown"
    assert len(process_label("x" * 500)) == 64


def test_processes_nvml_cannot_name_are_unknown() -> None:
    col, _ = collector(GTX1070, editor=False)
    s = col.collect()
    assert names(s, "process_gpu_memory_used_bytes") == {("other", "unknown")}
    assert proc(s, "process_gpu_memory_used_bytes", "other", "unknown") == 1004535808 + 325058560
    assert not series(s, "editor_gpu_utilization_percent")  # no editor collector: no totals


# -- cost: names cached, only new samples asked for ------------------------------------------
def test_process_names_are_read_once_per_pid_and_forgotten_when_it_leaves() -> None:
    col, nvml = collector(RTX4090)
    col.collect()
    assert nvml.calls["nvmlSystemGetProcessName"] == 7  # the others; the editor's are known
    for _ in range(3):
        col.collect()
    assert nvml.calls["nvmlSystemGetProcessName"] == 7
    nvml.set_answer(0, "nvmlDeviceGetComputeRunningProcesses", [])
    nvml.set_answer(0, "nvmlDeviceGetGraphicsRunningProcesses", [])
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", [])
    nvml.set_answer(0, "nvmlDeviceGetEncoderSessions", [])
    s = col.collect()
    assert not series(s, "process_gpu_memory_used_bytes")
    assert value(s, "gpu_processes", **DEV_4090) == 0
    assert value(s, "editor_gpu_utilization_percent", gpu="0") == 0  # reads 0, not gone
    assert not col._pid_names  # forgotten


def test_process_utilisation_asks_only_for_samples_newer_than_the_last_seen() -> None:
    seen: list[int] = []
    nvml = RecordedNvml(RTX4090)
    ask = nvml.__getattr__("nvmlDeviceGetProcessUtilization")

    def spy(handle: Any, last_seen: int) -> Any:
        seen.append(last_seen)
        return ask(handle, last_seen)

    nvml.__dict__["nvmlDeviceGetProcessUtilization"] = spy
    col = NvidiaGpuCollector(nvml_module=nvml, editor_view=lambda: view_of(nvml))
    col.collect()
    s = col.collect()
    assert seen[0] == 0 and seen[1] == 1_000_000 - 20_000  # the newest sample of the first
    assert proc(s, "process_gpu_utilization_percent", "other", "blender") == 31
    # no sample since (NVML_ERROR_NOT_FOUND): everyone reads 0, memory still reported
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", [])
    s = col.collect()
    assert proc(s, "process_gpu_utilization_percent", "other", "blender") == 0
    assert proc(s, "process_gpu_memory_used_bytes", "other", "blender") == 2254438400
    # pynvml raises NVMLError(NVML_SUCCESS) when the driver says "0 samples": the same
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", {"error": "NVML_SUCCESS"})
    s = col.collect()
    assert proc(s, "process_gpu_utilization_percent", "other", "blender") == 0


def test_other_processes_are_capped_whatever_runs() -> None:
    doc = load_recording(RTX4090)
    answers = doc["devices"][0]["answers"]
    answers["nvmlDeviceGetComputeRunningProcesses"] = [
        {"pid": 10000 + i, "usedGpuMemory": (i + 1) * 2**20} for i in range(200)]
    answers["nvmlDeviceGetProcessUtilization"] = [
        {"pid": 10000 + i, "timeStamp": -1000, "smUtil": i % 7, "memUtil": 0, "encUtil": 0,
         "decUtil": 0} for i in range(200)]
    doc["process_names"] = {str(10000 + i): f"/opt/job-{i}" for i in range(200)}
    col, _ = collector(doc)
    s = col.collect()
    others = {n for r, n in names(s, "process_gpu_memory_used_bytes") if r == "other"}
    assert len(others) == MAX_OTHER_NAMES + 1 and REST in others
    total = sum(v for k, v in series(s, "process_gpu_memory_used_bytes").items()
                if dict(k)["role"] == "other")
    assert total == sum((i + 1) * 2**20 for i in range(200)) + 641728512 + 188743680 \
        + 315621376 + 545259520 + 125829120  # nothing lost, only grouped
    assert len(s) < 120


# -- failures, the view, the wiring ----------------------------------------------------------
def test_a_lost_gpu_fails_its_queries_and_a_dead_driver_raises() -> None:
    doc = load_recording(GTX1070)
    col, nvml = collector(doc, editor=False)
    col.collect()
    lost = {"error": "NVML_ERROR_GPU_IS_LOST"}
    for fn in list(doc["devices"][1]["answers"]):
        nvml.set_answer(1, fn, lost)
    s = col.collect()
    assert {dict(k)["gpu"] for k in series(s, "gpu_utilization_percent")} == {"0"}
    assert not any("lost" in why for why in col.unsupported().values())  # asked again
    for fn in list(doc["devices"][0]["answers"]):
        nvml.set_answer(0, fn, lost)
    with pytest.raises(RuntimeError, match="every NVML query failed: GPU is lost"):
        col.collect()


def test_throttle_episodes_open_extend_and_close(clock: ManualClock) -> None:
    col, nvml = collector(RTX4090, clock=clock)
    col.collect()
    clock.advance(5)
    col.collect()
    view = col.latest_view()
    assert view is not None and view.rendering and view.looked_every == 5
    (ep,) = view.episodes
    assert (ep.gpu, ep.reasons, ep.collections, ep.cause) == ("0", {"sw_power_cap"}, 2, "render")
    assert ep.last_at - ep.first_at == 5
    nvml.set_answer(0, "nvmlDeviceGetCurrentClocksEventReasons", 0)
    clock.advance(5)
    col.collect()
    nvml.set_answer(0, "nvmlDeviceGetCurrentClocksEventReasons", 0x20)
    clock.advance(5)
    col.collect()
    view = col.latest_view()
    assert view is not None
    assert [e.reasons for e in view.episodes] == [{"sw_power_cap"}, {"sw_thermal"}]
    assert view.devices[0].throttle == {"sw_thermal"} and view.devices[0].editor_busy
    assert view.devices[0].top == ("child", "ffmpeg")  # SM + NVENC + NVDEC: the busiest
    col.close()
    assert col.latest_view() is None


def test_no_episode_without_a_render_and_idle_children(clock: ManualClock) -> None:
    col, nvml = collector(RTX4090, rendering=False, clock=clock)
    col.collect()
    view = col.latest_view()
    assert view is not None and view.episodes  # the ffmpeg children encode: a render
    assert view.episodes[0].cause == "gpu"
    nvml.set_answer(0, "nvmlDeviceGetEncoderSessions",
                    [s for s in load_recording(RTX4090)["devices"][0]["answers"][
                        "nvmlDeviceGetEncoderSessions"] if s["pid"] == 5300])
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", [
        {"pid": 4200, "timeStamp": -1, "smUtil": 1, "memUtil": 0, "encUtil": 0, "decUtil": 0},
        {"pid": 5400, "timeStamp": -1, "smUtil": 90, "memUtil": 0, "encUtil": 0, "decUtil": 0}])
    clock.advance(5)
    col.collect()  # only Blender busy: the power cap is not the editor's problem
    view = col.latest_view()
    assert view is not None and not view.devices[0].editor_busy
    assert len(view.episodes) == 1 and view.episodes[0].collections == 1


def test_the_registry_gives_the_gpu_collector_the_editor_view() -> None:
    nvml = RecordedNvml(RTX4090)

    def gpu(o: CollectorOptions) -> Any:
        return NvidiaGpuCollector(nvml_module=nvml)

    factories = tuple((label, gpu if label == "GPU" else f) for label, f in FACTORIES)
    cols = build_collectors(system=False, per_cpu=False, gpu=True, disk_paths=[],
                            process_names=["timeline-studio"], rescan_interval=30.0,
                            factories=factories, render_active=lambda: True)
    try:
        (col,) = [c for c in cols if isinstance(c, NvidiaGpuCollector)]
        (editor,) = [c for c in cols if isinstance(c, EditorProcessCollector)]
        editor.collect()  # no editor runs here: every GPU process is "other"
        s = col.collect()
        assert value(s, "editor_gpu_utilization_percent", gpu="0") == 0
        assert ("other", "ffmpeg") in names(s, "process_gpu_utilization_percent")
        view = col.latest_view()
        assert view is not None and view.rendering
    finally:
        for c in cols:
            c.close()


def test_the_editor_view_names_its_processes(fake_editor: FakeEditor) -> None:
    col = EditorProcessCollector(process_names=["timeline-studio"], rescan_interval=0.05)
    kid = fake_editor.spawn("ffmpeg")

    def members() -> set[tuple[int, str, str]]:
        col.collect()
        view = col.latest_view()
        return set(view.members) if view is not None else set()

    wait_for(lambda: (kid, "child", "ffmpeg") in members(), what="ffmpeg in the view")
    assert (fake_editor.pid, "main", "timeline-studio") in members()


def test_recording_a_driver_and_replaying_it_gives_the_same_series(tmp_path: Path) -> None:
    """``record`` (what the device session runs against the real driver) writes what the
    replay reads: recording the replay of a file reproduces its series."""
    source = RecordedNvml(RTX4090)
    doc = record(source, description="round trip")
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(doc))
    doc2 = load_recording(path)
    doc2["editor"] = source.recording["editor"]
    col1, _ = collector(RTX4090)
    col2, _ = collector(doc2)
    assert sorted(col1.collect(), key=repr) == sorted(col2.collect(), key=repr)
    assert doc["source"] == "recorded" and doc["process_names"]["4200"] == "/usr/bin/ffmpeg"
    assert doc["devices"][0]["answers"]["nvmlDeviceGetFBCStats"] == {
        "error": "NVML_ERROR_NOT_SUPPORTED"}
    copy.deepcopy(doc)  # plain JSON

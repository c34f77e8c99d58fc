"""The GPU throttle health check: Warning when a recorded GPU throttles for heat or power
during a render (the editor's announced render, or its ffmpeg children busy on the GPU),
configured as ``GpuThrottle`` or added by itself when the GPU collector runs, and wired
through the manager."""

from __future__ import annotations

from pathlib import Path

import pytest
from collector_helpers import ManualClock
from test_gpu_recorded import A4000, OLD, RTX4090, collector

from timeline_telemetry.collectors.gpu import NvidiaGpuCollector
from timeline_telemetry.collectors.gpu_nvml import RENDER_THROTTLE_REASONS
from timeline_telemetry.collectors.gpu_replay import RecordedNvml
from timeline_telemetry.config import ConfigError, parse_config
from timeline_telemetry.config.schema import (
    GPU_THROTTLE_REASONS,
    EditorConfig,
    GpuThrottleCheckConfig,
    HealthConfig,
    MemoryCheckConfig,
)
from timeline_telemetry.health import GpuThrottleHealthCheck, HealthStatus, build_health_checks
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths


def checked(path: Path, clock: ManualClock, **kwargs: object) -> tuple[
        NvidiaGpuCollector, RecordedNvml, GpuThrottleHealthCheck]:
    rendering = kwargs.pop("rendering", None)
    col, nvml = collector(path, clock=clock, rendering=rendering)  # type: ignore[arg-type]
    return col, nvml, GpuThrottleHealthCheck(col.latest_view, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_power_capped_during_the_editors_render_is_a_warning(clock: ManualClock) -> None:
    col, _, check = checked(RTX4090, clock)
    col.collect()
    clock.advance(30)
    col.collect()
    r = check.check()
    assert r.status is HealthStatus.WARNING
    assert r.message == ("GPU throttled during a render: GPU 0 (NVIDIA GeForce RTX 4090): "
                         "power cap, for 30s (last now, during the editor's render)")
    assert r.metadata["reasons"] == ["sw_power_cap"] and r.metadata["gpus"] == ["0"]


def test_thermal_slowdown_while_only_ffmpeg_encodes_is_a_warning(clock: ManualClock) -> None:
    col, _, check = checked(A4000, clock)  # the editor announced nothing; ffmpeg encodes
    col.collect()
    r = check.check()
    assert r.status is HealthStatus.WARNING
    assert "hardware slowdown, hardware thermal slowdown, thermal slowdown, once" in r.message
    assert "during the editor's children on it" in r.message


def test_throttled_without_a_render_is_healthy_and_says_so(clock: ManualClock) -> None:
    col, nvml, check = checked(RTX4090, clock, rendering=False)
    nvml.set_answer(0, "nvmlDeviceGetEncoderSessions", [])
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", [
        {"pid": 5400, "timeStamp": -1, "smUtil": 97, "memUtil": 0, "encUtil": 0, "decUtil": 0}])
    col.collect()
    r = check.check()
    assert r.status is HealthStatus.HEALTHY
    assert r.message == ("no thermal or power throttling during a render in the last 5 min; "
                         "GPU 0 is held back now (power cap) but no render runs")


def test_the_warning_lasts_the_window_then_clears(clock: ManualClock) -> None:
    col, nvml, check = checked(RTX4090, clock, window_s=120.0)
    col.collect()
    nvml.set_answer(0, "nvmlDeviceGetCurrentClocksEventReasons", 0)  # the render cooled down
    for _ in range(4):
        clock.advance(30)
        col.collect()
        assert check.check().status is HealthStatus.WARNING
    clock.advance(30)
    col.collect()
    r = check.check()
    assert r.status is HealthStatus.HEALTHY
    assert r.message == "no thermal or power throttling during a render in the last 2 min"


def test_only_the_reasons_asked_for_count(clock: ManualClock) -> None:
    col, _, check = checked(RTX4090, clock, reasons=["sw_thermal", "hw_thermal"])
    col.collect()
    assert check.check().status is HealthStatus.HEALTHY  # power cap only
    with pytest.raises(ValueError, match="reasons must be among"):
        GpuThrottleHealthCheck(col.latest_view, reasons=["gpu_idle"])


def test_unknown_before_the_first_look_when_stale_or_without_a_collector(
    clock: ManualClock,
) -> None:
    col, _, check = checked(RTX4090, clock)
    r = check.check()
    assert r.status is HealthStatus.UNKNOWN and "has not run" in r.message
    col.collect()
    clock.advance(60)
    col.collect()
    clock.advance(181)  # three missed collections (and over two minutes)
    r = check.check()
    assert r.status is HealthStatus.UNKNOWN and "last looked 181s ago" in r.message
    r = GpuThrottleHealthCheck(None).check()
    assert r.status is HealthStatus.UNKNOWN and "no NVIDIA GPU is watched" in r.message


def test_a_card_without_throttle_reasons_is_healthy_and_says_it_cannot_tell(
    clock: ManualClock,
) -> None:
    col, _, check = checked(OLD, clock)
    col.collect()
    r = check.check()
    assert r.status is HealthStatus.HEALTHY
    assert "GPU 0 (GeForce GTX 1070 Ti) cannot report throttle reasons" in r.message


# -- configuration and building --------------------------------------------------------------
def test_config_accepts_gpu_throttle_and_rejects_other_reasons(tmp_path: Path) -> None:
    assert set(GPU_THROTTLE_REASONS) == RENDER_THROTTLE_REASONS  # config and collector agree
    cfg = parse_config({"telemetry": {"health": {"checks": [
        {"GpuThrottle": {"window": "10m", "reasons": ["sw_thermal"], "name": "gpu-heat"}}]}}},
        source="t", base_dir=tmp_path)
    assert cfg.health.checks == (GpuThrottleCheckConfig(600.0, ("sw_thermal",), "gpu-heat"),)
    with pytest.raises(ConfigError, match=r"GpuThrottle.reasons\[0\]: \"gpu_idle\" is not"):
        parse_config({"telemetry": {"health": {"checks": [
            {"GpuThrottle": {"reasons": ["gpu_idle"]}}]}}}, source="t", base_dir=tmp_path)
    with pytest.raises(ConfigError, match="name at least one reason"):
        parse_config({"telemetry": {"health": {"checks": [
            {"GpuThrottle": {"reasons": []}}]}}}, source="t", base_dir=tmp_path)


def test_the_check_is_added_when_a_gpu_collector_runs(tmp_path: Path, clock: ManualClock) -> None:
    col, _ = collector(RTX4090, clock=clock)

    def build(health: HealthConfig, gpu: bool) -> list[object]:
        return build_health_checks(health, data_dir=tmp_path, editor_config=EditorConfig(),
                                   export_status=None,
                                   gpu_view=col.latest_view if gpu else None)  # type: ignore[return-value]

    defaults = build(HealthConfig(), True)
    (gpu,) = [c for c in defaults if isinstance(c, GpuThrottleHealthCheck)]
    assert gpu.name == "gpu" and gpu.kind == "gpu" and gpu.window_s == 300
    assert not [c for c in build(HealthConfig(), False) if isinstance(c, GpuThrottleHealthCheck)]
    listed = build(HealthConfig(checks=(MemoryCheckConfig(),)), True)
    assert [c.name for c in listed] == ["memory", "gpu"]  # type: ignore[attr-defined]
    configured = build(HealthConfig(checks=(
        GpuThrottleCheckConfig(60.0, ("hw_thermal",), "heat"),)), True)
    (heat,) = configured
    assert isinstance(heat, GpuThrottleHealthCheck)
    assert (heat.name, heat.window_s, heat.reasons) == ("heat", 60.0, {"hw_thermal"})
    # configured while no GPU collector runs (the check command): Unknown, saying why
    (alone,) = build(HealthConfig(checks=(GpuThrottleCheckConfig(),)), False)
    assert isinstance(alone, GpuThrottleHealthCheck)
    assert alone.check().status is HealthStatus.UNKNOWN


def test_through_the_manager_the_editors_render_gauge_makes_it_a_warning(tmp_path: Path) -> None:
    nvml = RecordedNvml(RTX4090)
    nvml.set_answer(0, "nvmlDeviceGetEncoderSessions", [])  # children idle: only the gauge
    nvml.set_answer(0, "nvmlDeviceGetProcessUtilization", [])
    cfg = parse_config(
        {"telemetry": {"metrics": {"collection_interval": "1h", "exporters": []},
                       "editor": {"process_names": ["no-such-editor-xyz"]},
                       "ingest": {"otlp": {"enabled": False}}}},
        source="test", base_dir=tmp_path)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    mgr = TelemetryManager(cfg, paths=paths, collectors=[NvidiaGpuCollector(nvml_module=nvml)])
    mgr.initialize()
    try:
        assert mgr.health is not None and "gpu" in mgr.health.check_names
        mgr.collect_once()
        report = mgr.health.check_all(force=True)
        assert report.results["gpu"].status is HealthStatus.HEALTHY
        mgr.metrics.set_gauge("editor_render_active", 1)  # as the editor pushes it over OTLP
        mgr.collect_once()
        report = mgr.health.check_all(force=True)
        assert report.results["gpu"].status is HealthStatus.WARNING
        assert "during the editor's render" in report.results["gpu"].message
        snap = mgr.collect_once()
        names = {s.name for s in snap.flat_samples()}
        assert {"gpu_throttle_reason", "process_gpu_memory_used_bytes",
                "gpu_encoder_sessions", "gpu_power_usage_watts"} <= names
    finally:
        mgr.shutdown()

"""build_health_checks from config, and record_health_metrics into a real Metrics."""

from __future__ import annotations

from pathlib import Path

from timeline_telemetry.config import parse_config
from timeline_telemetry.config.schema import EditorConfig, HealthConfig
from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.health import (
    DatabaseHealthCheck,
    DiskSpaceHealthCheck,
    ExporterStatusHealthCheck,
    FfmpegHealthCheck,
    FunctionHealthCheck,
    HealthCheckManager,
    HealthCheckResult,
    HealthStatus,
    HttpHealthCheck,
    MemoryHealthCheck,
    ProcessHealthCheck,
    build_health_checks,
    record_health_metrics,
)
from timeline_telemetry.metrics import Metrics


def no_exporters() -> dict[str, ExportStatus]:
    return {}


def test_default_checks(tmp_path: Path) -> None:
    media = tmp_path / "media"
    checks = build_health_checks(
        HealthConfig(), data_dir=tmp_path / "data",
        editor_config=EditorConfig(media_dirs=(str(media), str(media))),
        export_status=no_exporters)
    assert [c.name for c in checks] == ["disk", f"disk:{media}", "memory", "ffmpeg", "exporters"]
    disk, media_disk = checks[0], checks[1]
    assert isinstance(disk, DiskSpaceHealthCheck) and disk.nearest_existing
    assert isinstance(media_disk, DiskSpaceHealthCheck)
    assert media_disk.footage_bitrate_mbps == 100
    assert isinstance(checks[2], MemoryHealthCheck) and checks[2].max_used_fraction == 0.8
    assert isinstance(checks[3], FfmpegHealthCheck)
    assert isinstance(checks[4], ExporterStatusHealthCheck)
    # the one-shot command passes no exporter status
    assert [c.name for c in build_health_checks(
        HealthConfig(), data_dir=tmp_path, editor_config=EditorConfig(),
        export_status=None)] == ["disk", "memory", "ffmpeg"]


def test_checks_from_json_config(tmp_path: Path) -> None:
    config = parse_config({"telemetry": {
        "editor": {"process_names": ["timeline-studio", "ts-helper"]},
        "health": {"default_timeout": "3s", "checks": [
            {"DiskSpace": {"path": "/tmp", "max_used_fraction": 0.9}},
            {"Memory": {"max_used_fraction": 0.8, "name": "ram", "timeout": "1s"}},
            {"Ffmpeg": {"encoders": ["libx264"], "path": "/opt/ffmpeg/bin/ffmpeg"}},
            {"Database": {"path": "db/app.sqlite3"}},
            {"Http": {"url": "http://127.0.0.1:8080/health", "expected_status": 204,
                      "latency_warning": "250ms"}},
            {"Process": {"name": "timeline-studio"}},
            {"Process": {}},
        ]}}}, source="test", base_dir=tmp_path)
    checks = build_health_checks(config.health, data_dir=tmp_path,
                                 editor_config=config.editor, export_status=no_exporters)
    assert [c.name for c in checks] == [
        "disk:/tmp", "ram", "ffmpeg", "database:app.sqlite3", "http:127.0.0.1:8080",
        "process:timeline-studio", "process", "exporters"]
    disk, ram, ffmpeg, db, http, proc, editor, _ = checks
    assert isinstance(disk, DiskSpaceHealthCheck) and disk.path == Path("/tmp")
    assert isinstance(ram, MemoryHealthCheck) and ram.timeout == 1.0
    assert isinstance(ffmpeg, FfmpegHealthCheck)
    assert ffmpeg.encoders == ("libx264",) and ffmpeg.probe_timeout == 3.0
    assert isinstance(db, DatabaseHealthCheck) and db.path == tmp_path / "db" / "app.sqlite3"
    assert isinstance(http, HttpHealthCheck)
    assert (http.expected_status, http.latency_warning) == (204, 0.25)
    assert isinstance(proc, ProcessHealthCheck) and proc.process_names == ("timeline-studio",)
    assert isinstance(editor, ProcessHealthCheck)
    assert editor.process_names == ("timeline-studio", "ts-helper")


def test_empty_checks_list_means_only_the_exporter_check(tmp_path: Path) -> None:
    checks = build_health_checks(HealthConfig(checks=()), data_dir=tmp_path,
                                 editor_config=EditorConfig(), export_status=no_exporters)
    assert [c.name for c in checks] == ["exporters"]


def gauge(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    for fam in metrics.snapshot().families:
        if fam.spec.name == name:
            return {s.labels: float(s.value) for s in fam.series}  # type: ignore[arg-type]
    return {}


def fixed(name: str, kind: str, status: HealthStatus) -> FunctionHealthCheck:
    return FunctionHealthCheck(name, lambda: HealthCheckResult(status, "set"), kind=kind)


def test_record_health_metrics() -> None:
    manager = HealthCheckManager()
    metrics = Metrics()
    try:
        manager.add_round_listener(lambda report: record_health_metrics(metrics, report))
        manager.add_check(fixed("disk", "disk_space", HealthStatus.HEALTHY))
        manager.add_check(fixed("disk:/media", "disk_space", HealthStatus.WARNING))
        manager.add_check(fixed("memory", "memory", HealthStatus.HEALTHY))
        manager.add_check(fixed("ffmpeg", "ffmpeg", HealthStatus.UNHEALTHY))
        manager.add_check(fixed("editor", "process", HealthStatus.HEALTHY))
        manager.check_all()

        assert gauge(metrics, "system_health_status") == {(): 3.0}
        assert gauge(metrics, "disk_space_health_status") == {(): 2.0}  # the worst of two
        assert gauge(metrics, "memory_health_status") == {(): 1.0}
        assert gauge(metrics, "ffmpeg_health_status") == {(): 3.0}
        # The design document's predefined gauges without a check: 0 (Unknown), not absent.
        assert gauge(metrics, "database_health_status") == {(): 0.0}
        assert gauge(metrics, "external_api_health_status") == {(): 0.0}
        assert gauge(metrics, "health_check_status") == {
            (("check", "disk"),): 1.0, (("check", "disk:/media"),): 2.0,
            (("check", "memory"),): 1.0, (("check", "ffmpeg"),): 3.0,
            (("check", "editor"),): 1.0}
        durations = next(f for f in metrics.snapshot().families
                         if f.spec.name == "health_check_duration_seconds")
        assert len(durations.series) == 5
        assert durations.spec.unit == "seconds"

        manager.remove_check("ffmpeg")
        manager.check_all(force=True)
        assert gauge(metrics, "ffmpeg_health_status") == {}
        assert gauge(metrics, "system_health_status") == {(): 2.0}
        manager.add_check(fixed("db", "database", HealthStatus.WARNING))
        manager.check_all(force=True)
        assert gauge(metrics, "database_health_status") == {(): 2.0}
        assert (("check", "ffmpeg"),) not in gauge(metrics, "health_check_status")
    finally:
        manager.stop()

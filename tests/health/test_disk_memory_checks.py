"""Disk space and memory on the real machine, with thresholds placed around the real usage."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from timeline_telemetry.health import DiskSpaceHealthCheck, HealthStatus, MemoryHealthCheck


def used_fraction(path: Path) -> float:
    u = psutil.disk_usage(str(path))
    return u.used / (u.used + u.free)


def test_disk_healthy_below_the_limit(tmp_path: Path) -> None:
    r = DiskSpaceHealthCheck(tmp_path, 1.0, warning_margin=0.0).check()
    assert r.status is HealthStatus.HEALTHY
    assert r.metadata["free_bytes"] == pytest.approx(psutil.disk_usage(str(tmp_path)).free,
                                                     rel=0.05)
    assert "used (limit 100%)" in r.message


def test_full_disk_simulated_with_the_threshold(tmp_path: Path) -> None:
    # any real filesystem has used more than a millionth of itself
    r = DiskSpaceHealthCheck(tmp_path, 1e-6, warning_margin=0.0).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.startswith("drive nearly full: ")
    used = r.metadata["used_fraction"]
    assert isinstance(used, float) and used > 1e-6


def test_disk_warning_within_the_margin(tmp_path: Path) -> None:
    used = used_fraction(tmp_path)
    limit = min(1.0, used + 0.05)
    r = DiskSpaceHealthCheck(tmp_path, limit, warning_margin=0.2).check()
    assert r.status is HealthStatus.WARNING
    assert r.message.startswith("drive filling up: ")


def test_media_drive_reports_hours_of_footage(tmp_path: Path) -> None:
    r = DiskSpaceHealthCheck(tmp_path, 1.0, warning_margin=0.0, footage_bitrate_mbps=100).check()
    free = r.metadata["free_bytes"]
    assert isinstance(free, int)
    expected = free * 8 / 100e6 / 3600
    assert r.metadata["footage_hours"] == pytest.approx(expected, abs=0.01)
    assert f"about {expected:.1f} h of footage at 100 Mbit/s" in r.message


def test_missing_media_drive_is_unhealthy(tmp_path: Path) -> None:
    r = DiskSpaceHealthCheck(tmp_path / "not-mounted", 0.9).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "does not exist (drive not mounted?)" in r.message


def test_data_dir_not_created_yet_measures_its_parent(tmp_path: Path) -> None:
    check = DiskSpaceHealthCheck(tmp_path / "a" / "b", 1.0, nearest_existing=True, name="disk")
    r = check.check()
    assert check.name == "disk"
    assert r.status is HealthStatus.HEALTHY
    assert r.metadata["measured_path"] == str(tmp_path)


def test_disk_arguments_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DiskSpaceHealthCheck(tmp_path, 0)
    with pytest.raises(ValueError):
        DiskSpaceHealthCheck(tmp_path, 0.9, footage_bitrate_mbps=0)


def test_memory_thresholds_around_real_usage() -> None:
    vm = psutil.virtual_memory()
    used = (vm.total - vm.available) / vm.total
    assert MemoryHealthCheck(1.0, warning_margin=0.0).check().status is HealthStatus.HEALTHY
    full = MemoryHealthCheck(1e-6, warning_margin=0.0).check()
    assert full.status is HealthStatus.UNHEALTHY
    assert full.message.startswith("memory nearly exhausted")
    warn = MemoryHealthCheck(min(1.0, used + 0.05), warning_margin=0.5).check()
    assert warn.status is HealthStatus.WARNING
    assert warn.metadata["total_bytes"] == vm.total

"""ProcessHealthCheck with a real stand-in editor process; ExporterStatusHealthCheck."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable

import pytest
from health_helpers import CountingPsutil, ManualClock

from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.health import ExporterStatusHealthCheck, HealthStatus, ProcessHealthCheck

StartEditor = Callable[[str], subprocess.Popen[bytes]]


@pytest.fixture
def editor_name() -> str:
    return f"ts-editor-{uuid.uuid4().hex[:8]}"


def test_running_editor_is_healthy_with_pid_and_uptime(
    fake_editor: StartEditor, editor_name: str
) -> None:
    proc = fake_editor(editor_name)
    r = ProcessHealthCheck([editor_name]).check()
    assert r.status is HealthStatus.HEALTHY, r.message
    assert r.metadata["pid"] == proc.pid
    uptime = r.metadata["uptime_seconds"]
    assert isinstance(uptime, float) and 0 <= uptime < 120
    assert f"{editor_name} running (pid {proc.pid}, up " in r.message


def test_not_running_is_unhealthy(editor_name: str) -> None:
    r = ProcessHealthCheck([editor_name], rescan_interval=60).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.startswith(f"{editor_name} is not running")


def test_scans_rarely_and_notices_exit_at_once(fake_editor: StartEditor, editor_name: str) -> None:
    ps = CountingPsutil()
    clock = ManualClock()
    check = ProcessHealthCheck([editor_name], rescan_interval=60, psutil_module=ps, clock=clock)

    # nothing running: one scan, then none until the rescan interval has passed
    for _ in range(5):
        assert check.check().status is HealthStatus.UNHEALTHY
        clock.advance(10)
    assert ps.scans == 1
    clock.advance(20)

    proc = fake_editor(editor_name)
    assert check.check().status is HealthStatus.HEALTHY  # the due rescan finds it
    assert ps.scans == 2
    for _ in range(10):  # found: only that process is looked at
        clock.advance(60)
        assert check.check().status is HealthStatus.HEALTHY
    assert ps.scans == 2

    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)
    r = check.check()  # noticed without waiting for the rescan interval
    assert r.status is HealthStatus.UNHEALTHY
    assert ps.scans == 3


def test_process_names_are_required() -> None:
    with pytest.raises(ValueError):
        ProcessHealthCheck([" "])


def test_exporter_statuses() -> None:
    statuses = {"prometheus": ExportStatus.healthy(), "file": ExportStatus.healthy()}
    check = ExporterStatusHealthCheck(lambda: statuses)
    r = check.check()
    assert r.status is HealthStatus.HEALTHY
    assert r.message == "2 exporters healthy: prometheus, file"

    statuses["file"] = ExportStatus.failed("disk full")
    r = check.check()
    assert r.status is HealthStatus.WARNING
    assert r.message == "1 of 2 exporters not healthy: file: Failed(disk full)"
    assert r.metadata == {"prometheus": "Healthy", "file": "Failed(disk full)"}

    statuses["file"] = ExportStatus.degraded("1 consecutive failure: timeout")
    assert check.check().status is HealthStatus.WARNING
    assert ExporterStatusHealthCheck(dict).check().message == "no exporters configured"

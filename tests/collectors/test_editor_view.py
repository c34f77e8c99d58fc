"""The editor collector's view of its processes, and the Process check reading it.

One source of truth: the check never scans while it has the collector's view, so it agrees
with ``editor_up`` at every round (it once said "not running" for a minute
while ``editor_up`` was 1, and a critical alert fired on it).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from collector_helpers import CountingPsutil, FakeEditor, ManualClock, value

from timeline_telemetry.collectors.editor import EditorProcessCollector
from timeline_telemetry.config.schema import EditorConfig, HealthConfig, ProcessCheckConfig
from timeline_telemetry.health import HealthStatus, ProcessHealthCheck, build_health_checks


def make(ps: CountingPsutil, clock: ManualClock, rescan: float = 30.0) -> EditorProcessCollector:
    return EditorProcessCollector(
        process_names=("timeline-studio",), rescan_interval=rescan,
        psutil_module=ps, clock=clock,  # type: ignore[arg-type]
    )


def checked(col: EditorProcessCollector, clock: ManualClock) -> ProcessHealthCheck:
    return ProcessHealthCheck(["timeline-studio"], view=col.latest_view, clock=clock)


def test_check_says_unknown_before_the_collector_looked(
    counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock)
    r = checked(col, clock).check()
    assert r.status is HealthStatus.UNKNOWN
    assert "not looked yet" in r.message
    assert counting_psutil.process_iter_calls == 0  # the check never scans on its own


def test_editor_start_and_exit_seen_by_both_at_the_same_round(
    bin_dir: Path, counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock, rescan=30.0)
    check = checked(col, clock)
    assert value(col.collect(), "editor_up") == 0
    r = check.check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.endswith("is not running (looked 0s ago; looking again every 30s)")

    editor = FakeEditor(bin_dir)
    editor.start()
    try:
        clock.advance(10)
        # before the collector's next full scan neither has seen it: they agree
        assert value(col.collect(), "editor_up") == 0
        r = check.check()
        assert r.status is HealthStatus.UNHEALTHY
        assert "looked 10s ago; looking again every 30s" in r.message
        clock.advance(20)
        # the scan that sets editor_up to 1 makes the check Healthy at the next round
        assert value(col.collect(), "editor_up") == 1
        r = check.check()
        assert r.status is HealthStatus.HEALTHY, r.message
        assert r.metadata["pid"] == editor.pid
        assert f"timeline-studio running (pid {editor.pid}, up " in r.message
        scans = counting_psutil.process_iter_calls
        for _ in range(5):  # the check reads, it does not scan
            clock.advance(10)
            col.collect()
            assert check.check().status is HealthStatus.HEALTHY
        assert counting_psutil.process_iter_calls == scans + 1  # the collector's own rescan
    finally:
        editor.kill()

    clock.advance(10)
    assert value(col.collect(), "editor_up") == 0
    r = check.check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "is not running" in r.message


def test_message_reports_the_backed_off_cadence(
    counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock, rescan=30.0)
    col.scale_rescan(4)
    col.collect()
    clock.advance(42)
    r = checked(col, clock).check()
    assert r.message.endswith("(looked 42s ago; looking again every 120s)")
    assert r.metadata["rescan_interval_seconds"] == 120.0


def test_a_stale_view_is_unknown_not_unhealthy(
    counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock, rescan=30.0)
    col.collect()
    clock.advance(91)  # the collector stalled for more than 3 cadences
    r = checked(col, clock).check()
    assert r.status is HealthStatus.UNKNOWN
    assert "last looked 91s ago" in r.message


def test_close_forgets_the_view(counting_psutil: CountingPsutil, clock: ManualClock) -> None:
    col = make(counting_psutil, clock)
    col.collect()
    assert col.latest_view() is not None
    col.close()
    assert col.latest_view() is None


def test_view_is_read_safely_while_collecting(
    fake_editor: FakeEditor, counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock, rescan=1.0)  # a full scan every run
    check = checked(col, clock)
    col.collect()
    stop = threading.Event()
    seen: list[HealthStatus] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(check.check().status)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(20):
            clock.advance(1)
            col.collect()
    finally:
        stop.set()
        reader.join(10)
    assert seen and set(seen) == {HealthStatus.HEALTHY}


@pytest.mark.parametrize(
    ("check_name", "reads"), [(None, True), ("Timeline-Studio.exe", True), ("other", False)]
)
def test_build_gives_the_view_to_checks_of_the_editors_names(
    tmp_path: Path, check_name: str | None, reads: bool
) -> None:
    col = make(CountingPsutil(), ManualClock())
    checks = build_health_checks(
        HealthConfig(checks=(ProcessCheckConfig(name=check_name),)), data_dir=tmp_path,
        editor_config=EditorConfig(process_names=("timeline-studio",)), export_status=None,
        editor_view=col.latest_view)
    (check,) = checks
    assert isinstance(check, ProcessHealthCheck) and check.reads_collector is reads


def test_standalone_check_still_scans(fake_editor: FakeEditor) -> None:
    r = ProcessHealthCheck(["timeline-studio"]).check()
    assert r.status is HealthStatus.HEALTHY, r.message

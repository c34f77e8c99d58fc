"""The editor collector against real processes: a stand-in editor and the children it spawns."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from collector_helpers import (
    PYTHON,
    CountingPsutil,
    FakeEditor,
    ManualClock,
    assert_catalogued,
    series,
    value,
    wait_for,
)

from timeline_telemetry.collectors.editor import GONE_CHILD_HOLD_S, EditorProcessCollector

MAIN = {"role": "main"}
CHILD = {"role": "child"}


def make(ps: object, clock: ManualClock, *, pid_diff: bool, rescan: float = 3600.0,
         names: tuple[str, ...] = ("Timeline-Studio",)) -> EditorProcessCollector:
    return EditorProcessCollector(
        process_names=names, rescan_interval=rescan, psutil_module=ps,  # type: ignore[arg-type]
        clock=clock, pid_diff=pid_diff,
    )


@pytest.mark.parametrize("pid_diff", [True, False], ids=["pid-diff", "children"])
def test_tracks_editor_children_and_grandchildren_without_rescanning(
    fake_editor: FakeEditor, counting_psutil: CountingPsutil, clock: ManualClock, pid_diff: bool
) -> None:
    col = make(counting_psutil, clock, pid_diff=pid_diff)
    s = col.collect()
    assert_catalogued(s)
    assert value(s, "editor_up") == 1
    assert value(s, "editor_processes", **MAIN) == 1
    assert value(s, "editor_processes", **CHILD) == 0
    assert series(s, "editor_child_processes") == {}
    assert value(s, "editor_memory_rss_bytes") > 1_000_000
    assert value(s, "editor_threads") >= 1
    assert value(s, "editor_open_files") >= 3  # stdin, stdout, stderr at least
    assert 0 <= value(s, "editor_uptime_seconds") < 120

    first = fake_editor.spawn("ffmpeg")
    clock.advance(10)
    s = col.collect()
    assert value(s, "editor_processes", **CHILD) == 1
    assert series(s, "editor_child_processes") == {(("name", "ffmpeg"),): 1.0}
    rss_one_child = value(s, "editor_memory_rss_bytes")

    shell = fake_editor.spawn_sh("ffmpeg")
    # Started *and* exec'd: a just-forked grandchild is still named "sh" for a moment.
    wait_for(lambda: [c.name() for c in psutil.Process(shell).children()] == ["ffmpeg"],
             what="grandchild started as ffmpeg")
    clock.advance(10)
    s = col.collect()
    assert_catalogued(s)
    assert value(s, "editor_processes", **CHILD) == 3
    assert series(s, "editor_child_processes") == {
        (("name", "ffmpeg"),): 2.0, (("name", "sh"),): 1.0
    }
    assert value(s, "editor_memory_rss_bytes") > rss_one_child

    os.kill(first, signal.SIGKILL)
    fake_editor.reap(first)
    clock.advance(10)
    s = col.collect()
    assert value(s, "editor_processes", **CHILD) == 2
    assert series(s, "editor_child_processes") == {
        (("name", "ffmpeg"),): 1.0, (("name", "sh"),): 1.0
    }

    fake_editor.kill()
    clock.advance(10)
    s = col.collect()
    assert_catalogued(s)
    assert value(s, "editor_up") == 0
    assert value(s, "editor_processes", **MAIN) == 0
    assert value(s, "editor_processes", **CHILD) == 0
    assert value(s, "editor_memory_rss_bytes") == 0
    assert series(s, "editor_child_processes") == {  # gone: 0, not the last count
        (("name", "ffmpeg"),): 0.0, (("name", "sh"),): 0.0
    }
    assert series(s, "editor_uptime_seconds") == {}
    assert counting_psutil.process_iter_calls == 1


def test_io_totals_never_go_down_when_a_child_exits(
    fake_editor: FakeEditor, clock: ManualClock
) -> None:
    col = make(psutil, clock, pid_diff=True)
    before = value(col.collect(), "editor_io_written_bytes_total")
    size = 512 * 1024
    writer = fake_editor.spawn("ffmpeg", "write", str(size))
    wait_for(lambda: psutil.Process(writer).io_counters().write_bytes >= size, what="child write")
    clock.advance(10)
    s = col.collect()
    with_child = value(s, "editor_io_written_bytes_total")
    assert with_child >= before + size
    read_total = value(s, "editor_io_read_bytes_total")

    os.kill(writer, signal.SIGKILL)
    fake_editor.reap(writer)
    clock.advance(10)
    s = col.collect()
    assert value(s, "editor_processes", **CHILD) == 0
    assert value(s, "editor_io_written_bytes_total") >= with_child
    assert value(s, "editor_io_read_bytes_total") >= read_total

    fake_editor.kill()
    clock.advance(10)
    s = col.collect()
    assert value(s, "editor_up") == 0
    assert value(s, "editor_io_written_bytes_total") >= with_child


def test_zombie_children_are_not_counted(fake_editor: FakeEditor, clock: ManualClock) -> None:
    col = make(psutil, clock, pid_diff=True)
    kid = fake_editor.spawn("ffmpeg")
    assert value(col.collect(), "editor_processes", **CHILD) == 1
    os.kill(kid, signal.SIGKILL)  # not reaped: stays a zombie
    wait_for(lambda: psutil.Process(kid).status() == psutil.STATUS_ZOMBIE, what="zombie")
    for _ in range(2):  # the zombie is not picked up again on the next refresh
        clock.advance(10)
        s = col.collect()
        assert value(s, "editor_up") == 1
        assert value(s, "editor_processes", **CHILD) == 0
        assert series(s, "editor_child_processes") == {(("name", "ffmpeg"),): 0.0}


def test_editor_cpu_is_summed_over_the_tree(fake_editor: FakeEditor, clock: ManualClock) -> None:
    col = make(psutil, clock, pid_diff=True)
    burner = psutil.Process(fake_editor.spawn("render-helper", "burn"))
    col.collect()  # baseline for every tracked process
    start = burner.cpu_times().user
    wait_for(lambda: burner.cpu_times().user - start >= 0.3, what="child burning CPU")
    clock.advance(10)
    s = col.collect()
    assert series(s, "editor_child_processes") == {(("name", "render-helper"),): 1.0}
    assert value(s, "editor_cpu_usage_percent") > 20


def test_no_editor_scans_at_most_once_per_rescan_interval(
    bin_dir: Path, counting_psutil: CountingPsutil, clock: ManualClock
) -> None:
    col = make(counting_psutil, clock, pid_diff=True, rescan=30)
    for _ in range(3):  # 0 s, 10 s, 20 s: only the first run scans
        s = col.collect()
        assert value(s, "editor_up") == 0
        clock.advance(10)
    assert counting_psutil.process_iter_calls == 1

    editor = FakeEditor(bin_dir)
    editor.start()
    try:
        s = col.collect()  # 30 s after the first scan: due
        assert counting_psutil.process_iter_calls == 2
        assert value(s, "editor_up") == 1
        assert value(s, "editor_processes", **MAIN) == 1
        clock.advance(10)
        col.collect()
        assert counting_psutil.process_iter_calls == 2
    finally:
        editor.kill()


def test_editor_found_by_argv0_when_the_process_name_differs(clock: ManualClock) -> None:
    with subprocess.Popen(
        ["/opt/Timeline Studio/timeline-studio.exe", "-c", "import sys; sys.stdin.read()"],
        executable=PYTHON, stdin=subprocess.PIPE,
    ) as proc:
        try:
            assert psutil.Process(proc.pid).name() != "timeline-studio"
            s = make(psutil, clock, pid_diff=True).collect()
            assert value(s, "editor_up") == 1
            assert value(s, "editor_processes", **MAIN) == 1
        finally:
            proc.kill()


def test_close_forgets_processes(fake_editor: FakeEditor, clock: ManualClock) -> None:
    col = make(psutil, clock, pid_diff=True)
    assert value(col.collect(), "editor_up") == 1
    col.close()
    clock.advance(10)
    assert value(col.collect(), "editor_up") == 0


def test_rejects_empty_names_and_bad_interval() -> None:
    with pytest.raises(ValueError, match="process_names"):
        EditorProcessCollector(process_names=[" "], rescan_interval=30)
    with pytest.raises(ValueError, match="rescan_interval"):
        EditorProcessCollector(process_names=["x"], rescan_interval=0)


def test_children_that_exit_read_zero_then_disappear_and_the_editor_reads_down(
    fake_editor: FakeEditor, clock: ManualClock
) -> None:
    """The issue's case: two ffmpeg children exit, then the editor. Counts drop to 0 (held
    for GONE_CHILD_HOLD_S, then removed), uptime disappears, editor_up stays, as 0."""
    col = make(psutil, clock, pid_diff=True)
    kids = [fake_editor.spawn("ffmpeg"), fake_editor.spawn("ffmpeg")]
    s = col.collect()
    assert series(s, "editor_child_processes") == {(("name", "ffmpeg"),): 2.0}
    uptime = value(s, "editor_uptime_seconds")

    for kid in kids:
        os.kill(kid, signal.SIGKILL)
        fake_editor.reap(kid)
    clock.advance(10)
    s = col.collect()
    assert series(s, "editor_child_processes") == {(("name", "ffmpeg"),): 0.0}
    assert value(s, "editor_processes", **CHILD) == 0
    assert value(s, "editor_up") == 1

    fake_editor.kill()
    clock.advance(10)
    s = col.collect()
    assert series(s, "editor_child_processes") == {(("name", "ffmpeg"),): 0.0}
    assert series(s, "editor_uptime_seconds") == {}
    assert value(s, "editor_up") == 0
    assert uptime >= 0

    clock.advance(GONE_CHILD_HOLD_S)
    s = col.collect()
    assert series(s, "editor_child_processes") == {}
    assert value(s, "editor_up") == 0
    assert value(s, "editor_processes", **MAIN) == 0
    assert {x.name for x in s} <= col.families


def test_a_name_back_within_the_hold_counts_again(
    fake_editor: FakeEditor, clock: ManualClock
) -> None:
    col = make(psutil, clock, pid_diff=True)
    kid = fake_editor.spawn("ffmpeg")
    assert series(col.collect(), "editor_child_processes") == {(("name", "ffmpeg"),): 1.0}
    os.kill(kid, signal.SIGKILL)
    fake_editor.reap(kid)
    clock.advance(GONE_CHILD_HOLD_S - 1)
    assert series(col.collect(), "editor_child_processes") == {(("name", "ffmpeg"),): 0.0}
    fake_editor.spawn("ffmpeg")
    clock.advance(GONE_CHILD_HOLD_S - 1)  # the hold counts from the last time it ran
    assert series(col.collect(), "editor_child_processes") == {(("name", "ffmpeg"),): 1.0}
    clock.advance(GONE_CHILD_HOLD_S - 1)
    assert series(col.collect(), "editor_child_processes") == {(("name", "ffmpeg"),): 1.0}

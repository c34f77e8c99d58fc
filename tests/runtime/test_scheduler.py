"""The one scheduler: intervals, no overlap, skipped ticks counted, pause, wake, stop."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from support import wait_for
from timeline_telemetry.runtime.scheduler import Job, Scheduler, ThreadExecutor


@pytest.fixture
def sched():
    s = Scheduler(ThreadExecutor(workers=3))
    yield s
    s.stop(timeout_s=5)


def test_a_job_runs_at_start_and_on_its_interval(sched: Scheduler) -> None:
    runs: list[float] = []
    sched.add(Job("tick", 0.05, lambda: runs.append(time.monotonic())))
    sched.start()
    wait_for(lambda: len(runs) >= 4, timeout=10, what="four runs")
    st = sched.stats()["tick"]
    assert st.runs >= 4 and st.failures == 0
    assert st.last_duration_s >= 0 and st.total_duration_s >= st.last_duration_s


def test_a_busy_job_never_overlaps_and_its_ticks_are_skipped_and_counted(
        sched: Scheduler) -> None:
    release = threading.Event()
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def slow() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    sched.add(Job("slow", 0.02, slow))
    sched.start()
    wait_for(lambda: sched.stats()["slow"].skipped_ticks >= 5, timeout=10,
             what="skipped ticks while the job runs")
    release.set()
    wait_for(lambda: sched.stats()["slow"].runs >= 2, timeout=10, what="a second run")
    assert peak[0] == 1


def test_after_a_stall_missed_ticks_are_skipped_not_made_up(sched: Scheduler) -> None:
    runs: list[float] = []
    gate = threading.Event()

    def job() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            gate.wait(10)  # the first run takes ~10 intervals

    sched.add(Job("j", 0.05, job))
    sched.start()
    wait_for(lambda: runs, timeout=5, what="the first run")
    wait_for(lambda: sched.stats()["j"].skipped_ticks >= 8, timeout=10, what="skips")
    gate.set()
    wait_for(lambda: len(runs) >= 3, timeout=10, what="runs after the stall")
    # The runs after the stall keep the interval: no burst of the missed ones.
    gaps = [b - a for a, b in itertools.pairwise(runs[1:])]
    assert all(g > 0.02 for g in gaps), gaps


def test_pause_holds_pausable_jobs_only_and_resume_runs_them_at_once(
        sched: Scheduler) -> None:
    held: list[int] = []
    free: list[int] = []
    sched.add(Job("held", 3600, lambda: held.append(1)))
    sched.add(Job("free", 0.02, lambda: free.append(1), pausable=False))
    sched.start()
    wait_for(lambda: held, timeout=5, what="the first run at start")
    sched.pause()
    sched.wake("held")
    n = len(free)
    wait_for(lambda: len(free) >= n + 3, timeout=5, what="the unpausable job going on")
    assert held == [1]
    sched.resume()
    wait_for(lambda: len(held) == 2, timeout=5, what="the held job right after resume")


def test_a_job_only_while_paused_runs_while_the_others_are_held(sched: Scheduler) -> None:
    """The clock watch's own job: each collection ticks it, so it runs only while they are
    paused (and its held ticks are not counted as skipped)."""
    main: list[int] = []
    watch: list[int] = []
    sched.add(Job("main", 0.02, lambda: main.append(1)))
    sched.add(Job("watch", 0.2, lambda: watch.append(1), pausable=False,
                  only_while_paused=True))
    sched.start()
    wait_for(lambda: len(main) >= 30, timeout=10, what="the main job running")
    assert watch == []
    sched.pause()  # held for 3 of its intervals and more: none of them counts as skipped
    wait_for(lambda: len(watch) >= 2, timeout=5, what="the watch while paused")
    sched.resume()
    n = len(main)
    wait_for(lambda: len(main) >= n + 3, timeout=5, what="the main job again")
    settled = len(watch)
    m = len(main)
    wait_for(lambda: len(main) >= m + 5, timeout=5, what="five more main runs")
    assert len(watch) <= settled + 1  # at most one run that was already on its way
    assert sched.stats()["watch"].skipped_ticks == 0


def test_wake_runs_a_job_before_its_next_tick(sched: Scheduler) -> None:
    runs: list[int] = []
    sched.add(Job("hourly", 3600, lambda: runs.append(1), run_at_start=False))
    sched.start()
    sched.wake("hourly")
    wait_for(lambda: runs, timeout=5, what="the woken run")


def test_a_failing_job_is_counted_and_keeps_its_schedule(sched: Scheduler) -> None:
    def boom() -> None:
        raise RuntimeError("sensor unplugged")

    sched.add(Job("boom", 0.02, boom))
    sched.start()
    wait_for(lambda: sched.stats()["boom"].failures >= 3, timeout=5, what="failures")
    assert sched.stats()["boom"].last_error == "RuntimeError: sensor unplugged"


def test_stop_is_bounded_and_says_when_a_job_is_still_running() -> None:
    s = Scheduler(ThreadExecutor(workers=1))
    started = threading.Event()
    hang = threading.Event()

    def stuck() -> None:
        started.set()
        hang.wait(30)

    s.add(Job("stuck", 3600, stuck))
    s.start()
    assert started.wait(5)
    t0 = time.monotonic()
    assert s.stop(timeout_s=0.3) is False
    assert time.monotonic() - t0 < 3
    hang.set()


def test_bad_jobs_are_refused(sched: Scheduler) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        sched.add(Job("zero", 0, lambda: None))
    sched.add(Job("a", 1, lambda: None))
    with pytest.raises(ValueError, match="already exists"):
        sched.add(Job("a", 1, lambda: None))


def test_a_wake_while_the_job_runs_runs_it_again_right_after(sched: Scheduler) -> None:
    gate = threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            gate.wait(10)

    sched.add(Job("hourly", 3600, job))
    sched.start()
    wait_for(lambda: runs, timeout=5, what="the first run")
    sched.wake("hourly")  # e.g. a health transition while the rules are being evaluated
    gate.set()
    wait_for(lambda: len(runs) == 2, timeout=5, what="the run the wake asked for")


def test_the_headless_executor_uses_daemon_threads_and_reuses_them() -> None:
    ex = ThreadExecutor(workers=2)
    names: list[str] = []
    done = threading.Event()
    for i in range(10):
        ex.submit(lambda i=i: (names.append(threading.current_thread().name),
                               threading.current_thread().daemon or names.append("!"),
                               i == 9 and done.set()))
    assert done.wait(5)
    assert ex.shutdown(timeout_s=5)
    assert "!" not in names and len(set(names)) <= 2
    with pytest.raises(RuntimeError):
        ex.submit(lambda: None)


def test_set_interval_moves_the_next_tick(sched: Scheduler) -> None:
    runs: list[float] = []
    sched.add(Job("j", 3600, lambda: runs.append(time.monotonic())))
    sched.start()
    wait_for(lambda: runs, timeout=5, what="the first run")
    sched.set_interval("j", 0.05)
    wait_for(lambda: len(runs) >= 3, timeout=5, what="runs at the new interval")


def test_jobs_whose_intervals_divide_fall_due_together(sched: Scheduler) -> None:
    """One grid for every job: after a run off it (``run_now``, as the first collection at
    start is), a job's ticks go back onto it, and the 2x job's ticks are among the 1x
    job's (the scheduler wakes once for both)."""
    fast: list[float] = []
    slow: list[float] = []
    sched.add(Job("fast", 0.2, lambda: fast.append(time.monotonic()), run_at_start=False))
    sched.add(Job("slow", 0.4, lambda: slow.append(time.monotonic())))
    time.sleep(0.13)  # pacing under test: run_now lands off the 0.2 s grid
    sched.run_now("fast")
    sched.start()
    wait_for(lambda: len(slow) >= 4 and len(fast) >= 8, timeout=20, what="runs on the grid")
    # Each of the slow job's later runs has a run of the fast job beside it.
    for t in slow[2:]:
        assert min(abs(t - f) for f in fast) < 0.05, (t, fast)
    gaps = [b - a for a, b in itertools.pairwise(fast)]
    assert all(g > 0.1 for g in gaps), gaps  # snapping never ran it twice in a row

"""The periodic jobs of the agent, on one clock with one tick policy.

One scheduler thread decides *when* each job runs; an :class:`Executor` decides *where*
(headless: a small thread pool of our own; the tray: its ``QThreadPool`` behind the same
interface). A job never overlaps itself: a tick that comes while the job still runs is
skipped and counted, and ticks missed while the process was stopped or starved are
skipped too (counted, never made up in a burst). Each job keeps its timing (last and
total duration, runs, skips, last error): ``/api/v1/status`` shows it and the runtime
publishes it as ``telemetry_job_duration_seconds`` and ``telemetry_job_skipped_ticks_total``
(the self-budget itself weighs the whole process's CPU and memory).

``pause`` holds the pausable jobs (collection, health rounds, alert evaluation) and leaves
the rest (exporter watch) running; ``resume`` runs the held ones at once. ``wake(name)``
runs a job now instead of at its next tick (a health transition wakes the evaluator).

Ticks fall on one grid: each job's are whole multiples of its interval from the scheduler's
origin (a job that ran off the grid, after ``run_now``, ``wake`` or ``resume``, next runs
at the nearest grid point at least 3/4 of an interval later). Jobs whose intervals divide
one another then fall due together, and the scheduler wakes once for all of them: the
exporter watch every other collection instead of in a wake-up of its own between two.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Executor", "Job", "JobStats", "Scheduler", "ThreadExecutor"]

_log = logging.getLogger(__name__)


class Executor(Protocol):
    """Where a job's work runs. ``submit`` must not block; ``shutdown`` waits (bounded) for
    submitted work and returns False when some is still running at the deadline."""

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` soon on a worker thread. The scheduler submits the same callable
        object for every run of a job (never two runs of one job at once), so an executor
        may keep what it builds per callable."""
        ...

    def shutdown(self, *, timeout_s: float) -> bool:
        """Stop taking work; wait up to ``timeout_s`` for what runs."""
        ...


class ThreadExecutor:
    """The headless executor: a few named daemon worker threads, started on first use (no
    thread per job). Daemon, unlike ``concurrent.futures``' workers, which the interpreter
    joins at exit: a job hung on a dead disk must not keep the process from exiting once
    ``shutdown``'s deadline has passed."""

    def __init__(self, workers: int = 3) -> None:
        self._max = max(1, workers)
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._cv = threading.Condition()
        self._busy = 0
        self._queued = 0
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> None:
        """Queue ``fn``; RuntimeError after ``shutdown``."""
        with self._cv:
            if self._closed:
                raise RuntimeError("executor is shut down")
            self._queued += 1
            idle = len(self._threads) - self._busy
            if self._queued > idle and len(self._threads) < self._max:
                t = threading.Thread(target=self._work, daemon=True,
                                     name=f"telemetry-job-{len(self._threads) + 1}")
                self._threads.append(t)
                t.start()
        self._queue.put(fn)

    def _work(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            with self._cv:
                self._queued -= 1
                self._busy += 1
            try:
                fn()
            except Exception:  # the scheduler's wrapper logs; this is the last resort
                _log.exception("job failed")
            finally:
                with self._cv:
                    self._busy -= 1
                    self._cv.notify_all()

    def shutdown(self, *, timeout_s: float) -> bool:
        """Take no more work; wait until ``timeout_s`` for queued and running jobs; idle
        threads then exit, a hung one is left behind (daemon)."""
        with self._cv:
            self._closed = True
            done = self._cv.wait_for(lambda: self._busy == 0 and self._queued == 0,
                                     max(0.0, timeout_s))
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        return done


@dataclass(slots=True)
class JobStats:
    """What a job cost and how often it ran or was skipped."""

    runs: int = 0
    skipped_ticks: int = 0
    failures: int = 0
    last_duration_s: float = 0.0
    total_duration_s: float = 0.0
    #: CPU time of the job's own thread while it ran (the wall time above includes waits).
    total_cpu_s: float = 0.0
    last_error: str = ""
    last_finished: float = 0.0  # wall clock, 0 = never

    def as_json(self) -> dict[str, object]:
        """The stats as plain JSON values."""
        return {"runs": self.runs, "skipped_ticks": self.skipped_ticks,
                "failures": self.failures, "last_duration_seconds": self.last_duration_s,
                "total_duration_seconds": self.total_duration_s,
                "total_cpu_seconds": self.total_cpu_s,
                "last_error": self.last_error or None}


@dataclass(slots=True)
class Job:
    """One periodic job. ``Scheduler.set_interval`` changes its interval while it runs (the
    self-budget stretches the health rounds)."""

    name: str
    interval_s: float
    fn: Callable[[], None]
    pausable: bool = True
    #: Run at the first tick (start) instead of one interval after it.
    run_at_start: bool = True
    #: Held while the scheduler runs, run only while it is paused: work that a pausable
    #: job does itself on each run (the clock watch, which each collection ticks first),
    #: so it costs no second job a tick, and no second thread woken, in the usual case.
    only_while_paused: bool = False


@dataclass(slots=True)
class _Slot:
    job: Job
    due: float  # monotonic
    running: bool = False
    stats: JobStats | None = None
    #: Woken while running: run again as soon as this run ends.
    rerun: bool = False
    #: What is submitted for each run: one object per job (see ``Executor.submit``).
    runner: Callable[[], None] | None = None


class Scheduler:
    """Runs :class:`Job` objects on ``executor``; see the module docstring."""

    def __init__(
        self,
        executor: Executor,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._executor = executor
        self._mono = monotonic
        self._clock = clock
        lock = threading.Lock()
        #: The scheduler thread waits on this one: a job added, woken or rescheduled.
        self._cv = threading.Condition(lock)
        #: ``stop`` and ``run_now`` wait on this one for a run to end. Apart, so that a job
        #: ending does not wake the scheduler thread for nothing (twice a second at 1 s).
        self._done = threading.Condition(lock)
        self._slots: dict[str, _Slot] = {}
        self._paused = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Where every job's tick grid starts (see the module docstring).
        self._origin = self._mono()

    # -- jobs ---------------------------------------------------------------------------
    def add(self, job: Job) -> None:
        """Register ``job`` (before or after ``start``); a name is used once."""
        if not job.interval_s > 0:
            raise ValueError(f"job {job.name!r}: interval must be > 0 s, got {job.interval_s}")
        with self._cv:
            if job.name in self._slots:
                raise ValueError(f"a job named {job.name!r} already exists")
            now = self._mono()
            slot = _Slot(job, now if job.run_at_start else now + job.interval_s,
                         stats=JobStats())
            slot.runner = functools.partial(self._run, slot)
            self._slots[job.name] = slot
            self._cv.notify_all()

    @property
    def jobs(self) -> list[str]:
        """Job names, in the order they were added."""
        with self._cv:
            return list(self._slots)

    def stats(self) -> dict[str, JobStats]:
        """A copy of every job's stats."""
        with self._cv:
            out: dict[str, JobStats] = {}
            for name, slot in self._slots.items():
                s = slot.stats
                assert s is not None
                out[name] = dataclasses.replace(s)
            return out

    def tick_figures(self) -> list[tuple[str, float, int]]:
        """``(name, last duration s, skipped ticks)`` of every job: what each collection
        publishes, without copying every job's stats."""
        with self._cv:
            return [(name, st.last_duration_s, st.skipped_ticks)
                    for name, slot in self._slots.items() if (st := slot.stats) is not None]

    def interval(self, name: str) -> float:
        """Job ``name``'s current interval (seconds)."""
        with self._cv:
            return self._slots[name].job.interval_s

    def set_interval(self, name: str, interval_s: float) -> None:
        """Change a job's interval; the next tick moves accordingly."""
        with self._cv:
            slot = self._slots[name]
            slot.due += interval_s - slot.job.interval_s
            slot.job.interval_s = interval_s
            self._cv.notify_all()

    def wake(self, name: str) -> None:
        """Run job ``name`` as soon as it is free (a no-op while paused, for pausable jobs)."""
        with self._cv:
            slot = self._slots.get(name)
            if slot is not None:
                if slot.running:
                    slot.rerun = True  # what woke it may have come after the run read
                else:
                    slot.due = min(slot.due, self._mono())
                self._cv.notify_all()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the scheduler thread."""
        with self._cv:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="telemetry-scheduler",
                                            daemon=True)
        self._thread.start()

    @property
    def paused(self) -> bool:
        """Pausable jobs are held."""
        return self._paused

    def pause(self) -> None:
        """Hold the pausable jobs (a running one finishes)."""
        with self._cv:
            self._paused = True
            now = self._mono()
            for slot in self._slots.values():
                if slot.job.only_while_paused:
                    slot.due = now
            self._cv.notify_all()

    def resume(self) -> None:
        """Release the pausable jobs; each runs at once, then on its interval."""
        with self._cv:
            if not self._paused:
                return
            self._paused = False
            now = self._mono()
            for slot in self._slots.values():
                if slot.job.pausable:
                    slot.due = now
            self._cv.notify_all()

    def stop(self, *, timeout_s: float) -> bool:
        """Stop ticking and wait (until ``timeout_s``) for running jobs; False if some job
        still runs then (it is left to finish on its own)."""
        deadline = self._mono() + max(0.0, timeout_s)
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(max(0.0, deadline - self._mono()))
        with self._cv:
            done = self._done.wait_for(
                lambda: not any(s.running for s in self._slots.values()),
                max(0.0, deadline - self._mono()))
        if not done:
            busy = [n for n, s in self._slots.items() if s.running]
            _log.warning("jobs still running at shutdown: %s", ", ".join(busy))
        return self._executor.shutdown(timeout_s=max(0.0, deadline - self._mono())) and done

    def run_now(self, name: str) -> None:
        """Run job ``name`` on the calling thread (start-up's first collection), waiting for
        a running instance first; counted like a scheduled run."""
        with self._cv:
            slot = self._slots[name]
            self._done.wait_for(lambda: not slot.running)
            slot.running = True
        self._run(slot, reschedule=True)

    # -- internals ----------------------------------------------------------------------
    def _loop(self) -> None:
        with self._cv:
            while not self._stopping:
                now = self._mono()
                wait = math.inf
                for slot in self._slots.values():
                    job = slot.job
                    held = job.pausable if self._paused else job.only_while_paused
                    if held:
                        continue
                    if slot.due <= now:
                        self._tick(slot, now)
                    wait = min(wait, slot.due - now)
                self._cv.wait(None if wait == math.inf else max(0.0, wait))

    def _tick(self, slot: _Slot, now: float) -> None:
        """Called with the lock held at or after ``slot.due``."""
        interval = slot.job.interval_s
        stats = slot.stats
        assert stats is not None
        late = now - slot.due
        missed = int(late // interval)  # whole ticks that passed unrun
        if slot.running:
            missed += 1  # this tick too: the job is still busy with an earlier one
        if missed:
            stats.skipped_ticks += missed
        slot.due += (int(late // interval) + 1) * interval
        # Off the grid (after run_now, wake, resume): onto its nearest point, or the one
        # after where that would come sooner than 3/4 of an interval from now.
        on_grid = self._origin + round((slot.due - self._origin) / interval) * interval
        if abs(on_grid - slot.due) > 1e-6 * interval:
            slot.due = on_grid if on_grid - now >= 0.75 * interval else on_grid + interval
        if slot.running:
            return
        slot.running = True
        assert slot.runner is not None
        try:
            self._executor.submit(slot.runner)
        except Exception as exc:  # an executor shutting down refuses work
            slot.running = False
            _log.warning("job %s not started: %s", slot.job.name, exc)

    def _run(self, slot: _Slot, *, reschedule: bool = False) -> None:
        stats = slot.stats
        assert stats is not None
        start, cpu_start = time.perf_counter(), time.thread_time()
        error = ""
        try:
            slot.job.fn()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            _log.exception("job %s failed", slot.job.name)
        took = time.perf_counter() - start
        cpu = time.thread_time() - cpu_start
        with self._cv:
            slot.running = False
            stats.runs += 1
            stats.last_duration_s = took
            stats.total_duration_s += took
            stats.total_cpu_s += cpu
            stats.last_finished = self._clock()
            if error:
                stats.failures += 1
                stats.last_error = error
            self._done.notify_all()
            if reschedule:
                slot.due = self._mono() + slot.job.interval_s
            if slot.rerun:
                slot.rerun = False
                slot.due = self._mono()
            if reschedule or slot.due <= self._mono() or self._stopping:
                self._cv.notify_all()  # its next tick moved, or is due already

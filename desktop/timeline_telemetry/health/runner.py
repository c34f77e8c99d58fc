"""Running checks on reusable worker threads, each bounded by its timeout (internal).

A check that hangs cannot be killed (Python threads cannot be), so the round gives up on it at
its deadline and the thread stays with it until it returns. Such a check is *stuck*: it is not
started again while its previous run is still going, so a check that keeps hanging holds at
most one thread. Workers are reused across rounds and end after idling for a while, so a
steady agent creates no threads per round and ``threads <= parallel + stuck checks``.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from timeline_telemetry.config.durations import format_duration

from .model import HealthCheck, HealthCheckResult, HealthStatus

__all__ = ["CheckRunner", "Planned"]

_log = logging.getLogger(__name__)


class _Job:
    """One call of a check on a worker; ``done``/``result`` are guarded by the runner's cv."""

    __slots__ = ("done", "fn", "result", "started")

    def __init__(self, fn: Callable[[], HealthCheckResult]) -> None:
        self.fn = fn
        self.done = False
        self.result: HealthCheckResult | None = None
        self.started = 0.0


class _WorkerPool:
    """Threads that run jobs one at a time and end after ``idle_timeout`` without work."""

    def __init__(self, name: str, cv: threading.Condition, idle_timeout: float) -> None:
        self._name = name
        self._cv = cv
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[_Job | None]] = []
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._count = 0

    def submit(self, job: _Job) -> None:
        """Hand ``job`` to an idle worker, or start one (reopening a closed pool)."""
        with self._lock:
            self._closed = False
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                inbox = queue.SimpleQueue()
                self._count += 1
                t = threading.Thread(target=self._work, args=(inbox,), daemon=True,
                                     name=f"{self._name}-{self._count}")
                self._threads.add(t)
                t.start()
        inbox.put(job)

    @property
    def thread_count(self) -> int:
        """Worker threads alive now (idle, busy or stuck)."""
        with self._lock:
            return len(self._threads)

    def close(self, deadline: float) -> list[threading.Thread]:
        """Stop idle workers and join them until ``deadline``; returns the busy ones left."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return [t for t in threads if t.is_alive()]

    def _work(self, inbox: queue.SimpleQueue[_Job | None]) -> None:
        me = threading.current_thread()
        try:
            while True:
                try:
                    job = inbox.get(timeout=self._idle_timeout)
                except queue.Empty:
                    with self._lock:
                        if inbox in self._idle:
                            self._idle.remove(inbox)
                            return
                    job = inbox.get()  # handed a job just as we timed out
                if job is None:
                    return
                try:
                    result = job.fn()
                except BaseException as exc:  # the runner must always get a result
                    result = HealthCheckResult(HealthStatus.UNHEALTHY, f"check failed: {exc!r}")
                # Idle again *before* saying done: the runner submits the next job as soon as
                # it hears, and must find this worker free rather than start another thread.
                with self._lock:
                    closing = self._closed
                    if not closing:
                        self._idle.append(inbox)
                with self._cv:
                    job.result = result
                    job.done = True
                    self._cv.notify_all()
                if closing:
                    return
        finally:
            with self._lock:
                self._threads.discard(me)


@dataclass(frozen=True, slots=True)
class Planned:
    """A check to run in a round, with its effective timeout in seconds."""

    name: str
    check: HealthCheck
    timeout: float


@dataclass(slots=True)
class _Running:
    planned: Planned
    job: _Job
    started: float
    deadline: float


class CheckRunner:
    """Runs a round of checks, ``parallel`` at a time, each bounded by its timeout.

    Results are stamped with the wall-clock time they finished (or timed out) and the measured
    duration. Not for concurrent rounds: the manager serialises them.
    """

    def __init__(
        self,
        *,
        name: str = "telemetry-health",
        idle_timeout: float = 120.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cv = threading.Condition()
        self._pool = _WorkerPool(name, self._cv, idle_timeout)
        self._clock = clock
        self._mono = monotonic
        self._stuck: dict[str, _Running] = {}

    @property
    def thread_count(self) -> int:
        """Worker threads alive now."""
        return self._pool.thread_count

    def stuck(self) -> list[str]:
        """Names of checks still running past their timeout."""
        with self._cv:
            return [n for n, r in self._stuck.items() if not r.job.done]

    def run(self, planned: Sequence[Planned], parallel: int) -> dict[str, HealthCheckResult]:
        """Run ``planned`` (``parallel`` >= 1 at a time); a result for every one of them."""
        pending = deque(planned)
        running: dict[str, _Running] = {}
        results: dict[str, HealthCheckResult] = {}
        while pending or running:
            while pending and len(running) < max(1, parallel):
                p = pending.popleft()
                stuck = self._still_stuck(p.name)
                if stuck is not None:
                    results[p.name] = self._still_timed_out(stuck)
                    continue
                job = _Job(_bounded(p.check, p.timeout))
                now = self._mono()
                job.started = now
                self._pool.submit(job)
                running[p.name] = _Running(p, job, now, now + p.timeout)
            if not running:
                continue
            with self._cv:
                while not any(r.job.done for r in running.values()):
                    remaining = min(r.deadline for r in running.values()) - self._mono()
                    if remaining <= 0:
                        break
                    self._cv.wait(remaining)
                finished = {n: r.job.result for n, r in running.items() if r.job.done}
            now = self._mono()
            for name, r in list(running.items()):
                res = finished.get(name)
                if res is not None:
                    results[name] = replace(res, timestamp=self._clock(),
                                            check_duration=max(0.0, now - r.started))
                    del running[name]
                elif now >= r.deadline:
                    results[name] = self._timed_out(r, now)
                    with self._cv:
                        self._stuck[name] = r
                    del running[name]
        return results

    def forget(self, name: str) -> None:
        """Drop the stuck record of a removed check."""
        with self._cv:
            self._stuck.pop(name, None)

    def close(self, deadline: float) -> None:
        """Stop the idle workers; warn about checks still hanging (their threads are daemons)."""
        left = self._pool.close(deadline)
        if left:
            _log.warning("%d health check thread(s) still running at shutdown (stuck: %s)",
                         len(left), ", ".join(self.stuck()) or "none")

    # -- internals ----------------------------------------------------------------------
    def _still_stuck(self, name: str) -> _Running | None:
        with self._cv:
            r = self._stuck.get(name)
            if r is not None and r.job.done:
                del self._stuck[name]
                _log.info("health check %r returned after timing out; running it again", name)
                return None
            return r

    def _timed_out(self, r: _Running, now: float) -> HealthCheckResult:
        _log.warning("health check %r timed out after %s", r.planned.name,
                     format_duration(r.planned.timeout))
        return HealthCheckResult(
            HealthStatus.UNHEALTHY, f"timed out after {format_duration(r.planned.timeout)}",
            self._clock(), max(0.0, now - r.started), {"timed_out": True},
        )

    def _still_timed_out(self, r: _Running) -> HealthCheckResult:
        hung = self._mono() - r.started
        return HealthCheckResult(
            HealthStatus.UNHEALTHY,
            f"timed out after {format_duration(r.planned.timeout)}; still running "
            f"{hung:.0f}s later, not started again until it returns",
            self._clock(), 0.0, {"timed_out": True, "hung_seconds": round(hung, 3)},
        )


def _bounded(check: HealthCheck, timeout: float) -> Callable[[], HealthCheckResult]:
    """The job body: call the check, await it if async (cancelled at ``timeout``), and turn
    anything but a result into an Unhealthy one."""

    def call() -> HealthCheckResult:
        try:
            out: object = check.check()
            if inspect.isawaitable(out):
                import asyncio  # ~1 MB with ssl: only for async (user-written) checks

                out = asyncio.run(_wait(out, timeout))
        except TimeoutError:
            return HealthCheckResult(HealthStatus.UNHEALTHY,
                                     f"timed out after {format_duration(timeout)}",
                                     metadata={"timed_out": True})
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            return HealthCheckResult(HealthStatus.UNHEALTHY, f"check failed: {text}",
                                     metadata={"error_type": type(exc).__name__})
        if not isinstance(out, HealthCheckResult):
            return HealthCheckResult(
                HealthStatus.UNHEALTHY,
                f"check returned {type(out).__name__}, not a HealthCheckResult",
            )
        return out

    return call


async def _wait(aw: Awaitable[object], timeout: float) -> object:
    # Cancel a little before the round's deadline so the check unwinds and its thread is free
    # by then (no "stuck" round); the deadline stays the hard bound.
    import asyncio

    return await asyncio.wait_for(aw, timeout - min(0.1, timeout * 0.1))

"""Timeouts: a hung check cannot hold up the others, the next round, or pile up threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from health_helpers import Gate, wait_until

from timeline_telemetry.health import (
    FunctionHealthCheck,
    HealthCheckManager,
    HealthCheckResult,
    HealthStatus,
)

Make = Callable[..., HealthCheckManager]


def quick(name: str) -> FunctionHealthCheck:
    return FunctionHealthCheck(name, lambda: HealthCheckResult.healthy(f"{name} ok"))


def test_hung_check_times_out_and_others_finish_on_time(make_manager: Make, gate: Gate) -> None:
    m = make_manager(default_timeout=1.0, parallel_checks=True)
    m.add_check(FunctionHealthCheck("hung", gate))
    for i in range(3):
        m.add_check(quick(f"q{i}"))
    started = time.time()
    report = m.check_all()
    hung = report.results["hung"]
    assert hung.status is HealthStatus.UNHEALTHY
    assert hung.message == "timed out after 1s"
    assert hung.metadata["timed_out"] is True
    assert 1.0 <= hung.check_duration < 5
    for i in range(3):
        r = report.results[f"q{i}"]
        assert r.status is HealthStatus.HEALTHY
        assert r.timestamp < hung.timestamp  # done before the hung one was given up on
        assert r.timestamp - started < 0.9


def test_sequential_round_moves_past_a_hung_check(make_manager: Make, gate: Gate) -> None:
    m = make_manager(default_timeout=5.0, parallel_checks=False)
    m.add_check(FunctionHealthCheck("hung", gate, timeout=0.3))  # its own timeout wins
    m.add_check(quick("after"))
    report = m.check_all()
    assert report.results["hung"].message == "timed out after 300ms"
    assert report.results["after"].status is HealthStatus.HEALTHY
    assert report.results["after"].timestamp >= report.results["hung"].timestamp


def test_a_check_that_keeps_hanging_is_not_restarted(make_manager: Make, gate: Gate) -> None:
    m = make_manager(default_timeout=0.2, parallel_checks=True)
    m.add_check(FunctionHealthCheck("hung", gate))
    m.add_check(quick("ok"))
    m.check_all(force=True)
    threads_after_first = m.thread_count
    for _ in range(5):
        started = time.monotonic()
        report = m.check_all(force=True)
        assert time.monotonic() - started < 0.2  # no waiting on the stuck one again
        assert report.results["hung"].status is HealthStatus.UNHEALTHY
        assert "not started again" in report.results["hung"].message
        assert report.results["ok"].status is HealthStatus.HEALTHY
    assert gate.calls == 1
    assert m.thread_count <= threads_after_first
    assert m.stuck_checks == ["hung"]

    gate.release.set()  # the dependency recovers: once the stuck run returns, it runs again
    assert wait_until(
        lambda: m.check_all(force=True).results["hung"].status is HealthStatus.HEALTHY)
    assert gate.calls == 2


def test_async_hang_is_cancelled_and_frees_its_thread(make_manager: Make) -> None:
    cancelled = threading.Event()

    async def hang() -> HealthCheckResult:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return HealthCheckResult.healthy("never")  # pragma: no cover

    m = make_manager(default_timeout=0.3)
    m.add_check(FunctionHealthCheck("async-hang", hang))
    r = m.check_all().results["async-hang"]
    assert r.status is HealthStatus.UNHEALTHY and r.message.startswith("timed out after 300ms")
    assert cancelled.wait(5)
    assert wait_until(lambda: m.stuck_checks == [])  # its thread is free again
    # the next round runs it again (and it times out again)
    cancelled.clear()
    assert m.check_all(force=True).results["async-hang"].message == "timed out after 300ms"
    assert cancelled.wait(5)


def test_many_checks_really_run_in_parallel(make_manager: Make) -> None:
    n = 50
    barrier = threading.Barrier(n, timeout=10)

    def meet() -> HealthCheckResult:
        barrier.wait()  # only passes if all 50 run at the same time
        return HealthCheckResult.healthy("met")

    m = make_manager(parallel_checks=True, max_parallel=n, default_timeout=15)
    for i in range(n):
        m.add_check(FunctionHealthCheck(f"c{i:02d}", meet))
    report = m.check_all()
    assert [r.status for r in report.results.values()] == [HealthStatus.HEALTHY] * n


def test_parallelism_is_capped(make_manager: Make) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> HealthCheckResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.01)  # a check doing a little I/O
        with lock:
            running -= 1
        return HealthCheckResult.healthy("done")

    m = make_manager(parallel_checks=True, max_parallel=4)
    for i in range(50):
        m.add_check(FunctionHealthCheck(f"c{i:02d}", work))
    report = m.check_all()
    assert all(r.status is HealthStatus.HEALTHY for r in report.results.values())
    assert 1 <= peak <= 4
    assert m.thread_count <= 4


def test_stop_does_not_wait_for_a_hung_check(make_manager: Make, gate: Gate) -> None:
    m = make_manager(check_interval=60, default_timeout=0.2)
    m.add_check(FunctionHealthCheck("hung", gate))
    m.start()
    assert m.wait_for_rounds(1, timeout_s=10)
    started = time.monotonic()
    m.stop(timeout_s=1.0)
    assert time.monotonic() - started < 3
    assert not m.running


def test_a_stopped_manager_can_run_again(make_manager: Make) -> None:
    m = make_manager(parallel_checks=True)
    m.add_check(quick("a"))
    m.check_all()
    m.stop()
    assert m.check_all(force=True).results["a"].status is HealthStatus.HEALTHY

"""HealthCheckManager: registration, caching, raising checks, transitions, the periodic loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from health_helpers import wait_until

from timeline_telemetry.health import (
    FunctionHealthCheck,
    HealthCheckManager,
    HealthCheckResult,
    HealthReport,
    HealthStatus,
    HealthTransition,
)

Make = Callable[..., HealthCheckManager]


class Switch:
    """A check whose status the test sets; counts its runs."""

    def __init__(self, name: str, status: HealthStatus = HealthStatus.HEALTHY) -> None:
        self.name = name
        self.status = status
        self.runs = 0

    def check(self) -> HealthCheckResult:
        self.runs += 1
        return HealthCheckResult(self.status, f"{self.name} is {self.status.label}")


def test_duplicate_and_reserved_names_are_errors(make_manager: Make) -> None:
    m = make_manager()
    m.add_check(Switch("disk"))
    with pytest.raises(ValueError, match="already exists"):
        m.add_check(Switch("disk"))
    with pytest.raises(ValueError, match="overall"):
        m.add_check(Switch("system"))
    assert m.check_names == ["disk"]


def test_remove_check(make_manager: Make) -> None:
    m = make_manager()
    m.add_check(Switch("a"))
    m.add_check(Switch("b", HealthStatus.UNHEALTHY))
    assert m.check_all().overall is HealthStatus.UNHEALTHY
    assert m.remove_check("b") is True
    assert m.remove_check("b") is False
    report = m.check_all()
    assert list(report.results) == ["a"]
    assert report.overall is HealthStatus.HEALTHY


def test_a_raising_check_is_unhealthy_with_its_message_and_others_run(make_manager: Make) -> None:
    def boom() -> HealthCheckResult:
        raise RuntimeError("database pool exhausted")

    m = make_manager(parallel_checks=True)
    m.add_check(FunctionHealthCheck("boom", boom))
    ok = Switch("ok")
    m.add_check(ok)
    report = m.check_all()
    assert report.results["boom"].status is HealthStatus.UNHEALTHY
    assert "database pool exhausted" in report.results["boom"].message
    assert report.results["ok"].status is HealthStatus.HEALTHY
    # the manager survives: the next round runs again
    assert m.check_all(force=True).completed_rounds == 2
    assert ok.runs == 2


def test_wrong_return_type_is_unhealthy(make_manager: Make) -> None:
    m = make_manager()
    m.add_check(FunctionHealthCheck("bad", lambda: "fine"))  # type: ignore[arg-type,return-value]
    result = m.check_all().results["bad"]
    assert result.status is HealthStatus.UNHEALTHY
    assert "not a HealthCheckResult" in result.message


def test_async_checks(make_manager: Make) -> None:
    async def slow_ok() -> HealthCheckResult:
        await asyncio.sleep(0)
        return HealthCheckResult.warning("async says warning", source="async")

    m = make_manager()
    m.add_check(FunctionHealthCheck("async", slow_ok))
    result = m.check_all().results["async"]
    assert (result.status, result.message, result.metadata["source"]) == (
        HealthStatus.WARNING, "async says warning", "async")


def test_results_are_stamped_by_the_manager(make_manager: Make) -> None:
    m = make_manager(clock=lambda: 1234.5)
    m.add_check(FunctionHealthCheck(
        "zero", lambda: HealthCheckResult(HealthStatus.HEALTHY, "ok")))
    r = m.check_all().results["zero"]
    assert r.timestamp == 1234.5
    assert 0 <= r.check_duration < 5


def test_cache_ttl(make_manager: Make) -> None:
    s = Switch("s")
    m = make_manager(cache_ttl=3600)
    m.add_check(s)
    first = m.check_all()
    second = m.check_all()
    assert s.runs == 1
    assert first.fresh == {"s"} and second.fresh == frozenset()
    m.check_all(force=True)
    assert s.runs == 2
    m.set_cache_ttl(0)
    m.check_all()
    m.check_all()
    assert s.runs == 4
    # a check added later runs on the next check_all even while the others are cached
    m.set_cache_ttl(3600)
    late = Switch("late")
    m.add_check(late)
    assert m.check_all().fresh == {"late"}
    assert (s.runs, late.runs) == (4, 1)


def test_report_without_running_shows_unknown(make_manager: Make) -> None:
    s = Switch("s")
    m = make_manager()
    m.add_check(s)
    report = m.report()
    assert report.results["s"].status is HealthStatus.UNKNOWN
    assert report.results["s"].message == "not checked yet"
    assert report.overall is HealthStatus.UNKNOWN and report.completed_rounds == 0
    assert s.runs == 0


def test_setters_validate(make_manager: Make) -> None:
    m = make_manager()
    with pytest.raises(ValueError):
        m.set_default_timeout(0)
    with pytest.raises(ValueError):
        m.set_cache_ttl(-1)
    with pytest.raises(ValueError):
        HealthCheckManager(check_interval=0)


# -- transitions -------------------------------------------------------------------------
def test_transitions_history_and_event_stream(make_manager: Make) -> None:
    ticks = iter(range(100, 200))
    m = make_manager(clock=lambda: float(next(ticks)))
    disk = Switch("disk")
    m.add_check(disk)
    got: list[HealthTransition] = []
    unsubscribe = m.subscribe(got.append)

    m.check_all(force=True)  # Unknown -> Healthy (disk and system)
    m.check_all(force=True)  # no change
    disk.status = HealthStatus.WARNING
    m.check_all(force=True)
    disk.status = HealthStatus.HEALTHY
    m.check_all(force=True)

    pairs = [(t.component, t.old, t.new) for t in got]
    H, W, U = HealthStatus.HEALTHY, HealthStatus.WARNING, HealthStatus.UNKNOWN
    assert pairs == [("disk", U, H), ("system", U, H), ("disk", H, W), ("system", H, W),
                     ("disk", W, H), ("system", W, H)]
    assert got[2].message == "disk is Warning"
    assert "disk: disk is Warning" in got[3].message
    assert [t.seq for t in got] == list(range(1, 7))
    assert m.transitions() == got
    assert m.transitions(since=got[3].when) == got[4:]

    unsubscribe()
    disk.status = HealthStatus.UNHEALTHY
    m.check_all(force=True)
    assert len(got) == 6
    assert [t.new for t in m.transitions()[-2:]] == [HealthStatus.UNHEALTHY] * 2


def test_history_is_bounded(make_manager: Make) -> None:
    m = make_manager(history_size=5)
    flip = Switch("flip")
    m.add_check(flip)
    for i in range(20):
        flip.status = HealthStatus.WARNING if i % 2 else HealthStatus.HEALTHY
        m.check_all(force=True)
    kept = m.transitions()
    assert len(kept) == 5
    assert kept[-1].seq == 40  # 20 rounds x (flip + system), only the newest kept


def test_a_failing_subscriber_does_not_break_the_round(make_manager: Make) -> None:
    m = make_manager()
    m.add_check(Switch("a"))

    def bad(_t: HealthTransition) -> None:
        raise RuntimeError("subscriber bug")

    seen: list[str] = []
    m.subscribe(bad)
    m.subscribe(lambda t: seen.append(t.component))
    reports: list[HealthReport] = []
    m.add_round_listener(reports.append)
    report = m.check_all()
    assert report.overall is HealthStatus.HEALTHY
    assert seen == ["a", "system"]
    assert reports == [report]


# -- the periodic loop ---------------------------------------------------------------------
def test_periodic_loop_runs_rounds_and_stops(make_manager: Make) -> None:
    s = Switch("s")
    m = make_manager(check_interval=0.05, cache_ttl=0)
    m.add_check(s)
    m.start()
    assert m.running
    assert m.wait_for_rounds(3, timeout_s=10)
    m.stop(timeout_s=5)
    assert not m.running
    assert not any(t.name == "telemetry-health-loop" for t in threading.enumerate())
    runs = s.runs
    assert runs >= 3
    assert not m.wait_for_rounds(runs + 1, timeout_s=0.2)  # nothing runs after stop
    m.stop()  # idempotent


def test_loop_reuses_worker_threads(make_manager: Make) -> None:
    m = make_manager(check_interval=0.02, cache_ttl=0, parallel_checks=True, max_parallel=4)
    for i in range(6):
        m.add_check(Switch(f"c{i}"))
    m.start()
    assert m.wait_for_rounds(3, timeout_s=10)
    before = {t.ident for t in threading.enumerate()}
    assert m.wait_for_rounds(15, timeout_s=20)
    after = {t.ident for t in threading.enumerate()}
    assert m.thread_count <= 4
    assert after <= before  # twelve more rounds, not one new thread


def test_stop_stops_idle_workers(make_manager: Make) -> None:
    m = make_manager(parallel_checks=True)
    for i in range(3):
        m.add_check(Switch(f"c{i}"))
    m.check_all()
    assert m.thread_count >= 1
    m.stop(timeout_s=5)
    assert wait_until(lambda: m.thread_count == 0)

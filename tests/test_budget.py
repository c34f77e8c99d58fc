"""The self-budget: the monitor backs off when it costs too much, and while the editor
renders. Driven by a fake clock, an agent collector reporting chosen readings, and a
collector made deliberately slow."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from timeline_telemetry.budget import SelfBudget
from timeline_telemetry.collectors.base import Sample
from timeline_telemetry.config import parse_config
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths


def test_factor_doubles_when_over_and_halves_when_well_under() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, max_backoff=8, render_backoff=4)
    factors = [b.update(cpu_percent=3.0, rss_bytes=50e6, rendering=False).factor
               for _ in range(8)]
    assert factors == [1, 2, 2, 4, 4, 8, 8, 8]
    assert "over budget" in b.decision.reason and b.decision.over_budget
    calm = [b.update(cpu_percent=0.2, rss_bytes=50e6, rendering=False).factor
            for _ in range(12)]
    assert calm[4] == 8 and calm[5] == 4 and calm[11] == 2
    # between half the budget and the budget: hold, do not oscillate
    held = {b.update(cpu_percent=0.8, rss_bytes=50e6, rendering=False).factor
            for _ in range(20)}
    assert held == {2}


def test_memory_over_budget_counts_too() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6)
    for _ in range(2):
        d = b.update(cpu_percent=0.1, rss_bytes=150e6, rendering=False)
    assert d.factor == 2 and "RSS 150 of 100 MB" in d.reason


def test_rendering_samples_less_and_says_why() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, render_backoff=4)
    d = b.update(cpu_percent=0.1, rss_bytes=10e6, rendering=True)
    assert d.factor == 4 and d.rendering and d.reason == "sampling 1/4: the editor is rendering"
    assert b.update(cpu_percent=0.1, rss_bytes=10e6, rendering=False).factor == 1


def test_an_open_dashboard_is_not_held_against_the_budget() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, render_backoff=4)
    for _ in range(4):
        d = b.update(cpu_percent=5.0, rss_bytes=170e6, rendering=False)
    assert d.factor == 4
    # The user opens the dashboard: live data, full rate, nothing counted as over budget.
    for _ in range(4):
        d = b.update(cpu_percent=5.0, rss_bytes=170e6, rendering=False, interactive=True)
        assert d.factor == 1 and not d.over_budget and d.interactive
    # ... but a render still backs off.
    d = b.update(cpu_percent=5.0, rss_bytes=170e6, rendering=True, interactive=True)
    assert d.factor == 4
    # Closed again: counting starts afresh (two readings over before the first doubling).
    assert b.update(cpu_percent=5.0, rss_bytes=90e6, rendering=False).factor == 1
    assert b.update(cpu_percent=5.0, rss_bytes=90e6, rendering=False).factor == 2


def test_start_up_cost_is_not_held_against_the_budget() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, window_s=15, warmup_s=10)
    for t in range(10):  # imports, the first full process scan: 8 % of a core
        assert b.update(cpu_percent=8.0, rss_bytes=40e6, rendering=False, now=t).factor == 1
    for t in range(10, 40):
        d = b.update(cpu_percent=0.5, rss_bytes=40e6, rendering=False, now=t)
        assert d.factor == 1 and not d.over_budget


def test_one_costly_second_is_averaged_out_a_sustained_cost_is_not() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, window_s=15, warmup_s=0)
    readings = [0.5] * 29
    readings[10] = 6.0  # the 30-second process rescan lands in one interval
    for t, cpu in enumerate(readings):
        d = b.update(cpu_percent=cpu, rss_bytes=40e6, rendering=False, now=t)
        assert d.factor == 1, (t, d)
    for t in range(29, 60):  # now every second costs 2 % of a core
        d = b.update(cpu_percent=2.0, rss_bytes=40e6, rendering=False, now=t)
        if d.factor > 1:
            break
    # Once the 15 s mean is over 1 %, two readings in a row: about 6 s after the change.
    assert d.factor == 2 and d.over_budget and "over budget (CPU 1." in d.reason
    assert 33 <= t <= 37, t


def test_closing_the_dashboard_starts_a_new_warm_up() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=200e6, window_s=15, warmup_s=10)
    for t in range(20):
        b.update(cpu_percent=0.5, rss_bytes=40e6, rendering=False, now=t)
    for t in range(20, 40):  # plots live: 5 % of a core
        b.update(cpu_percent=5.0, rss_bytes=160e6, rendering=False, interactive=True, now=t)
    for t in range(40, 50):  # closed: the last plot repaints are not judged
        d = b.update(cpu_percent=3.0 if t == 40 else 0.5, rss_bytes=150e6, rendering=False,
                     now=t)
        assert d.factor == 1 and not d.over_budget


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Agent:
    """Reports the agent's cost as the test chooses."""

    name = "agent"

    def __init__(self) -> None:
        self.cpu = 5.0
        self.rss = 50e6

    def collect(self) -> Sequence[Sample]:
        return [Sample("telemetry_agent_cpu_usage_percent", self.cpu),
                Sample("telemetry_agent_memory_rss_bytes", self.rss)]

    def close(self) -> None:
        pass


class Slow:
    """A collector that really takes ~5 ms of CPU (a deliberately costly one)."""

    name = "slow"

    def __init__(self) -> None:
        self.calls = 0
        self.rescan_factors: list[int] = []

    def collect(self) -> Sequence[Sample]:
        self.calls += 1
        end = time.perf_counter() + 0.005
        while time.perf_counter() < end:
            pass
        return [Sample("queue_size", 1.0)]

    def scale_rescan(self, factor: int) -> None:
        self.rescan_factors.append(factor)

    def close(self) -> None:
        pass


class Cheap:
    name = "cheap"

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> Sequence[Sample]:
        self.calls += 1
        return [Sample("cache_size_bytes", 1.0)]

    def close(self) -> None:
        pass


def make_manager(tmp_path: Path, *collectors: object) -> TelemetryManager:
    cfg = parse_config(
        {"telemetry": {
            "metrics": {"exporters": [], "history": {"enabled": False}},
            "health": {"enabled": False}, "alerts": {"enabled": False},
            "ingest": {"otlp": {"enabled": False}},
            "budget": {"cpu_percent": 1.0, "rss_mb": 100, "max_backoff": 4,
                       "render_backoff": 4},
        }},
        source="test", base_dir=tmp_path,
    )
    mgr = TelemetryManager(
        cfg, paths=AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "h")}),
        collectors=list(collectors), clock=FakeClock(),  # type: ignore[arg-type]
    )
    mgr.initialize()
    return mgr


def gauge(mgr: TelemetryManager, name: str, **labels: str) -> float:
    for s in mgr.metrics.snapshot().flat_samples():
        if s.name == name and dict(s.labels) == labels:
            return s.value
    raise AssertionError(f"{name}{labels} not exported")


def test_over_budget_thins_the_costly_collector_only(tmp_path: Path) -> None:
    agent, slow, cheap = Agent(), Slow(), Cheap()
    mgr = make_manager(tmp_path, agent, slow, cheap)
    try:
        for _ in range(20):
            mgr.collect_once()
        assert gauge(mgr, "telemetry_budget_backoff_factor") == 4
        assert gauge(mgr, "telemetry_budget_exceeded") == 1
        assert gauge(mgr, "telemetry_sampling_reduced", reason="budget") == 1
        assert cheap.calls == 20
        assert slow.calls < 12, slow.calls
        assert slow.rescan_factors == [2, 4]

        agent.cpu = 0.1  # well under budget again: back to normal, step by step
        for _ in range(40):
            mgr.collect_once()
        assert gauge(mgr, "telemetry_budget_backoff_factor") == 1
        assert gauge(mgr, "telemetry_sampling_reduced", reason="budget") == 0
        assert slow.rescan_factors[-1] == 1
    finally:
        mgr.shutdown()


def test_editor_render_state_reduces_sampling(tmp_path: Path) -> None:
    agent, slow = Agent(), Slow()
    agent.cpu = 0.1
    mgr = make_manager(tmp_path, agent, slow)
    try:
        mgr.collect_once()
        assert gauge(mgr, "telemetry_budget_backoff_factor") == 1
        mgr.metrics.set_gauge("editor_render_active", 1)  # as the editor pushes it over OTLP
        mgr.collect_once()
        assert gauge(mgr, "telemetry_budget_backoff_factor") == 4
        assert gauge(mgr, "telemetry_sampling_reduced", reason="render") == 1
        before = slow.calls
        for _ in range(8):
            mgr.collect_once()
        assert slow.calls - before <= 3
    finally:
        mgr.shutdown()


def test_restart_warmup_holds_judgement_after_a_suspend() -> None:
    b = SelfBudget(cpu_percent=1.0, rss_bytes=100e6, warmup_s=10.0)
    assert b.update(cpu_percent=50.0, rss_bytes=1e6, rendering=False, now=0.0).factor == 1
    for t in (20.0, 21.0):
        d = b.update(cpu_percent=50.0, rss_bytes=1e6, rendering=False, now=t)
    assert d.over_budget
    b.restart_warmup()  # resumed: the readings right after are the wake-up's, not ours
    for t in (500.0, 501.0, 505.0):
        d = b.update(cpu_percent=50.0, rss_bytes=1e6, rendering=False, now=t)
        assert not d.over_budget and d.factor == 2

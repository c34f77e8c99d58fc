"""AlertManager over an in-memory source and a real history store: lifecycle,
notifications, cooldown, silences, render silence, hysteresis, flapping, storms, metrics
and persistence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alerts_helpers import PROM_DIR

from timeline_telemetry.alerts import (
    AlertManager,
    AlertRule,
    AlertSeverity,
    AlertStore,
    FlapSettings,
    HistorySource,
    MemorySource,
    RenderSilence,
    RulePolicy,
    StormSettings,
    load_rule_files,
)
from timeline_telemetry.alerts.actions import ActionQueue, Notification
from timeline_telemetry.alerts.promql import Evaluator
from timeline_telemetry.alerts.rules import RuleGroup
from timeline_telemetry.history import HistoryStore, LabelMatcher
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.promql.syntax import parse


class Recorder:
    """An ActionSender that keeps what it got."""

    name = "rec"

    def __init__(self) -> None:
        self.got: list[Notification] = []
        self.cond = threading.Condition()

    def open(self) -> None:
        pass

    def send(self, n: Notification, *, timeout_s: float) -> None:
        with self.cond:
            self.got.append(n)
            self.cond.notify_all()

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "recorder"


def _rules(expr: str, *, for_: str = "0s", name: str = "A") -> list[RuleGroup]:
    from timeline_telemetry.alerts.rules import AlertingRule, parse_prom_duration

    rule = AlertingRule(name, expr, parse(expr), parse_prom_duration(for_), 0.0,
                        {"severity": "warning"}, {"summary": "{{ $labels.host }} {{ $value }}"})
    return [RuleGroup("g", "t", (rule,))]


def _feed(src: MemorySource, name: str, labels: tuple[tuple[str, str], ...],
          values: list[float], step_s: int = 60) -> None:
    for i, v in enumerate(values):
        src.add(name, labels, i * step_s * 1000, v)


def _manager(groups: list[RuleGroup], src: MemorySource, **kw: object
             ) -> tuple[AlertManager, list[Notification]]:
    sent: list[Notification] = []

    class Q(ActionQueue):
        def __init__(self) -> None:
            self.name = "q"

        def submit(self, n: Notification) -> bool:
            sent.append(n)
            return True

        def start(self) -> None:
            pass

        def shutdown(self, timeout_s: float = 5.0) -> None:
            pass

    m = AlertManager(groups, src, metrics=Metrics(), actions={"q": Q()}, **kw)  # type: ignore[arg-type]
    return m, sent


def test_design_document_rules_fire_notify_once_and_resolve() -> None:
    src = MemorySource()
    _feed(src, "system_cpu_usage_percent", (("host", "ws1"),), [95.0] * 8 + [10.0] * 3)
    groups = load_rule_files([PROM_DIR / "alert_rules.yml"])
    m, sent = _manager(groups, src)
    for minute in range(11):
        m.evaluate(minute * 60.0)
    firing = [n for n in sent if n.status == "firing"]
    resolved = [n for n in sent if n.status == "resolved"]
    assert len(firing) == 1 and len(resolved) == 1
    assert firing[0].title == "High CPU usage detected"
    assert firing[0].body.startswith("CPU usage is 95% for more than 5 minutes")
    assert firing[0].alerts[0].labels["host"] == "ws1"
    assert resolved[0].alerts[0].fingerprint == firing[0].alerts[0].fingerprint


def test_metrics_alerts_firing_and_ALERTS() -> None:
    src = MemorySource()
    _feed(src, "x", (("host", "a"),), [5.0] * 5)
    metrics = Metrics()
    m = AlertManager(_rules("x > 1", for_="2m"), src, metrics=metrics)
    m.evaluate(60.0)
    flat = {(s.name, s.labels): s.value for s in metrics.flat_samples()}
    assert flat[("alerts_firing", (("alertname", "A"), ("severity", "warning")))] == 0
    pend = [k for k in flat if k[0] == "ALERTS"]
    assert pend and ("alertstate", "pending") in pend[0][1]
    m.evaluate(180.0)
    flat = {(s.name, s.labels): s.value for s in metrics.flat_samples()}
    assert flat[("alerts_firing", (("alertname", "A"), ("severity", "warning")))] == 1
    assert any(("alertstate", "firing") in k[1] for k in flat if k[0] == "ALERTS")


def test_cooldown_suppresses_a_repeat_notification() -> None:
    src = MemorySource()
    _feed(src, "x", (), [5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5])
    m, sent = _manager(_rules("x > 1"), src, policies={"A": RulePolicy(cooldown_s=300)})
    for minute in range(11):
        m.evaluate(minute * 60.0)
    fired = [n.alerts[0].starts_at for n in sent if n.status == "firing"]
    assert fired == [0.0, 360.0]  # minutes 0 and 6; 2 and 4 fall inside the 5m cooldown


def test_silence_with_an_end_time() -> None:
    src = MemorySource()
    _feed(src, "x", (("host", "a"),), [5, 0, 5, 0, 5])
    m, sent = _manager(_rules("x > 1"), src)
    m.add_silence([LabelMatcher("host", "=", "a")], starts_at=0, ends_at=150)
    for minute in range(5):
        m.evaluate(minute * 60.0)
    assert [n.alerts[0].starts_at for n in sent if n.status == "firing"] == [240.0]


def test_render_silence_holds_while_the_editor_renders() -> None:
    src = MemorySource()
    _feed(src, "system_cpu_usage_percent", (), [99.0] * 6)
    _feed(src, "editor_render_active", (), [1, 1, 1, 0, 0, 0])
    silence = RenderSilence(parse("editor_render_active > 0"),
                            (LabelMatcher("alertname", "=~", "HighCPU.*"),))
    m, sent = _manager(_rules("system_cpu_usage_percent > 80", name="HighCPUUsage"), src,
                       render_silence=silence)
    m.evaluate(0.0)
    assert m.render_active and sent == []
    # The render ended: the alert is still firing but it was already seen (and silenced).
    for minute in range(1, 6):
        m.evaluate(minute * 60.0)
    assert not m.render_active and sent == []


def test_hysteresis_keeps_firing_until_the_resolve_threshold() -> None:
    src = MemorySource()
    _feed(src, "cpu", (), [90, 75, 72, 65, 90])
    m, sent = _manager(_rules("cpu > 80"), src, resolve_exprs={"A": parse("cpu > 70")})
    states = []
    for minute in range(5):
        m.evaluate(minute * 60.0)
        states.append(bool(m.firing()))
    assert states == [True, True, True, False, True]
    assert [n.status for n in sent] == ["firing", "resolved", "firing"]


def test_flapping_alert_is_held_firing_and_marked() -> None:
    src = MemorySource()
    _feed(src, "x", (), [5, 0] * 10)
    m, sent = _manager(_rules("x > 1"), src,
                       flap=FlapSettings(max_changes=3, window_s=600))
    for minute in range(20):
        m.evaluate(minute * 60.0)
    # appear, flip, flip, flip: the 4th flip in 10m (> 3) holds it firing from then on.
    assert [n.status for n in sent] == ["firing", "resolved", "firing"]
    firing = m.firing()
    assert len(firing) == 1 and firing[0].flapping


def test_storm_of_1000_series_is_coalesced() -> None:
    src = MemorySource()
    for i in range(1000):
        src.add("x", (("id", str(i)),), 0, 5.0)
    groups = _rules("x > 1") + _rules("x > 2", name="B")
    m, sent = _manager(groups, src, storm=StormSettings(per_rule=5, max_per_eval=10))
    m.evaluate(0.0)
    assert len(sent) == 2
    assert sum(len(n.alerts) for n in sent) == 2000
    assert sent[0].title == "1000 alerts firing: A"


def test_design_document_alert_rule_api() -> None:
    src = MemorySource()
    for i in range(11):
        src.add("api_errors_total", (), i * 60_000, i * 12.0)  # 0.2/s
    m, sent = _manager([], src)
    m.add_rule(AlertRule("high_error_rate", "api_errors_rate_5m > 0.1", AlertSeverity.CRITICAL,
                         "API error rate is too high", cooldown=60))
    m.evaluate(600.0)
    assert len(sent) == 1
    n = sent[0]
    assert n.severity == "critical" and n.title == "API error rate is too high"
    assert n.alerts[0].value == pytest.approx(0.2)


def test_history_and_firing_state_survive_a_restart(tmp_path: Path) -> None:
    src = MemorySource()
    _feed(src, "x", (("host", "a"),), [5.0] * 10)
    store = AlertStore(tmp_path / "alerts.sqlite3")
    m, sent = _manager(_rules("x > 1"), src, store=store)
    m.evaluate(0.0)
    m.stop()
    store.close()
    assert len(sent) == 1

    store2 = AlertStore(tmp_path / "alerts.sqlite3")
    m2, sent2 = _manager(_rules("x > 1"), src, store=store2)
    m2.evaluate(60.0)
    assert sent2 == []  # still firing, already notified before the restart
    assert [a.active_at_ms for a in m2.firing()] == [0]
    events = store2.events()
    assert [(e.alertname, e.event, e.labels["host"]) for e in events] == [("A", "firing", "a")]
    store2.close()


def test_evaluation_over_the_real_history_matches_memory(tmp_path: Path) -> None:
    now = 1_700_000_000.0
    hist = HistoryStore(tmp_path / "h.sqlite3", retention=3600, clock=lambda: now)
    mem = MemorySource()
    for i in range(30):
        t = now - 600 + i * 20
        v = i * 7.0 if i < 20 else (i - 20) * 3.0  # a counter reset at i=20
        hist.append(t, [FlatSample("req_total", (("job", "a"),), v)])
        mem.add("req_total", (("job", "a"),), round(t * 1000), v)
    hist.flush()
    q = parse('rate(req_total{job="a"}[5m]) * 60')
    a = Evaluator(HistorySource(hist)).instant(q, round(now * 1000))
    b = Evaluator(mem).instant(q, round(now * 1000))
    assert isinstance(a, list) and a == b and len(a) == 1
    hist.close()


def test_start_starts_the_actions_and_stop_stops_them() -> None:
    src = MemorySource()
    rec = Recorder()
    metrics = Metrics()
    q = ActionQueue(rec, metrics=metrics)
    _feed(src, "x", (), [5.0])
    m = AlertManager(_rules("x > 1"), src, metrics=metrics, actions={"rec": q},
                     interval_s=3600, clock=lambda: 0.0)
    m.start()
    try:
        m.evaluate()  # the runtime's scheduler calls this
        with rec.cond:
            assert rec.cond.wait_for(lambda: len(rec.got) == 1, 10)
        assert m.evaluations == 1
    finally:
        m.stop()
    assert "stopped" in str(q.status())


@pytest.mark.parametrize(
    ("condition", "promql"),
    [
        ("video_processing_duration_ms_avg > 30000",
         "(rate(video_processing_duration_ms_sum[5m]) / "
         "rate(video_processing_duration_ms_count[5m])) > 30000"),
        ("api_errors_rate_5m > 0.1", "rate(api_errors_total[5m]) > 0.1"),
        ("system_cpu_usage_percent_avg_10m > 80",
         "avg_over_time(system_cpu_usage_percent[10m]) > 80"),
        ("system_cpu_usage_percent > 80", "system_cpu_usage_percent > 80"),
    ],
)
def test_design_document_condition_shorthands(condition: str, promql: str) -> None:
    from timeline_telemetry.alerts import translate_condition
    from timeline_telemetry.metrics.catalog import DEFAULT_CATALOG

    kinds = {name: spec.kind for name, spec in DEFAULT_CATALOG.items()}
    assert translate_condition(condition, kinds) == promql


def test_restart_pending_moves_the_for_timer_to_now() -> None:
    src = MemorySource()
    _feed(src, "x", (("host", "a"),), [5.0] * 10)
    m = AlertManager(_rules("x > 1", for_="2m"), src, metrics=Metrics())
    assert m.restart_pending(0.0) == 0  # nothing evaluated yet
    m.evaluate(60.0)
    # A suspend (or clock step) was detected at minute 2: the time slept does not count.
    assert m.restart_pending(120.0) == 1
    m.evaluate(180.0)
    assert m.firing() == []
    m.evaluate(240.0)
    assert [a.name for a in m.firing()] == ["A"]
    assert m.restart_pending(300.0) == 0  # firing alerts stay firing
    assert [a.name for a in m.firing()] == ["A"]

"""What each receiver hears (``alerts/ledger.py`` through the manager): Prometheus's
re-send and ``endsAt`` for Alertmanager, ``repeat_interval`` for the notifying actions, and
a cooldown that delays a notification but never loses it, replayed against a real
``prometheus-alertmanager`` and a recording HTTP server, with an injected clock
(``evaluate(t)``) wherever real time would be too slow."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime
from typing import Any

from alerts_helpers import RESOLVE_TIMEOUT_S, Capture

from support import wait_for
from timeline_telemetry.alerts import ActionPolicy, AlertManager, MemorySource, RulePolicy
from timeline_telemetry.alerts.actions import (
    ActionQueue,
    AlertmanagerSender,
    Notification,
    WebhookSender,
)
from timeline_telemetry.alerts.rules import AlertingRule, RuleGroup
from timeline_telemetry.delivery import RetryPolicy
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.promql.syntax import parse

FAST = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.0)


def _rules(expr: str = "x > 1", name: str = "A") -> list[RuleGroup]:
    rule = AlertingRule(name, expr, parse(expr), 0.0, 0.0, {"severity": "warning"},
                        {"summary": "x is {{ $value }}"})
    return [RuleGroup("g", "t", (rule,))]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _queue(sender: Any) -> ActionQueue:
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    return q


def _step(m: AlertManager, t: float, *queues: ActionQueue) -> None:
    m.evaluate(t)
    for q in queues:
        assert q.flush(10)


# -- row 1: re-send and end times (Prometheus's rules/alerting.go) -------------------------
def test_alertmanager_resend_cadence_and_ends_at(capture_server: Capture) -> None:
    """Every 15 s evaluation, resend_delay 1m: sent when it fires and then whenever more
    than 1m passed since the last send (needsSending: LastSentAt + delay < now), so at 0,
    75, 150, 225; endsAt = now + 4 * max(15s, 1m). Resolved at 240: sent at once with
    endsAt = 240, then re-sent every 75 s while the rule keeps it (15 minutes)."""
    src = MemorySource()
    for i in range(41):
        src.add("x", (), i * 15_000, 5.0 if i * 15 < 240 else 0.0)
    q = _queue(AlertmanagerSender(capture_server.url, resolve=lambda v: v))
    m = AlertManager(_rules(), src, metrics=Metrics(), actions={"am": q}, interval_s=15,
                     action_policies={"am": ActionPolicy(resend_delay_s=60)})
    sent: list[tuple[float, dict[str, Any]]] = []
    try:
        for i in range(41):
            _step(m, i * 15.0, q)
            sent += [(i * 15.0, a) for body in capture_server.bodies[len(sent):] for a in body]
    finally:
        q.shutdown()
    firing = [(t, _ts(a["endsAt"])) for t, a in sent if t < 240]
    assert firing == [(0, 240), (75, 315), (150, 390), (225, 465)]
    resolved = [(t, _ts(a["endsAt"])) for t, a in sent if t >= 240]
    assert resolved == [(240, 240), (315, 240), (390, 240), (465, 240), (540, 240)]
    assert all(_ts(a["startsAt"]) == 0 for _, a in sent)
    assert capture_server.paths[0] == "/api/v2/alerts"


def test_repeat_interval_for_notifying_actions(capture_server: Capture) -> None:
    """A webhook with repeat_interval 4h hears a 9 h outage at 0, 4 h and 8 h; one with the
    default (0: the receiver dedups) hears it once; each hears the resolve once."""
    src = MemorySource()
    for h in range(11):
        src.add("x", (), h * 3_600_000, 5.0 if h < 9 else 0.0)
    rep = _queue(WebhookSender(capture_server.url + "/rep", resolve=lambda v: v,
                               body_format="generic"))
    once = _queue(WebhookSender(capture_server.url + "/once", resolve=lambda v: v,
                                body_format="generic"))
    m = AlertManager(_rules(), src, metrics=Metrics(), actions={"rep": rep, "once": once},
                     action_policies={"rep": ActionPolicy(repeat_interval_s=4 * 3600)})
    times: dict[str, list[tuple[int, str]]] = {"/rep": [], "/once": []}
    try:
        for h in range(11):
            n = len(capture_server.bodies)
            _step(m, h * 3600.0, rep, once)
            for path, body in zip(capture_server.paths[n:], capture_server.bodies[n:],
                                  strict=True):
                times[path].append((h, body["status"]))
    finally:
        rep.shutdown()
        once.shutdown()
    assert times["/rep"] == [(0, "firing"), (4, "firing"), (8, "firing"), (9, "resolved")]
    assert times["/once"] == [(0, "firing"), (9, "resolved")]


# -- row 2: a cooldown delays, never loses ------------------------------------------------
def test_refire_inside_the_cooldown_is_sent_when_it_ends(capture_server: Capture) -> None:
    """Fire (0), resolve (1m), fire again inside the 5m cooldown (2m) and keep firing: the
    webhook and Alertmanager hear firing, resolved, then firing once the cooldown has ended
    (5m), then the final resolve; never a resolve for a firing they did not hear."""
    src = MemorySource()
    values = [5, 0, 5, 5, 5, 5, 5, 5, 0, 0]
    for i, v in enumerate(values):
        src.add("x", (), i * 60_000, float(v))
    hook = _queue(WebhookSender(capture_server.url + "/hook", resolve=lambda v: v,
                                body_format="generic"))
    am = _queue(AlertmanagerSender(capture_server.url + "/am", resolve=lambda v: v))
    m = AlertManager(_rules(), src, metrics=Metrics(), actions={"hook": hook, "am": am},
                     interval_s=60, policies={"A": RulePolicy(cooldown_s=300)},
                     action_policies={"am": ActionPolicy(resend_delay_s=600)})
    heard: dict[str, list[tuple[int, str]]] = {"/hook": [], "/am/api/v2/alerts": []}
    try:
        for i in range(len(values)):
            n = len(capture_server.bodies)
            _step(m, i * 60.0, hook, am)
            for path, body in zip(capture_server.paths[n:], capture_server.bodies[n:],
                                  strict=True):
                if path == "/hook":
                    heard[path].append((i, body["status"]))
                else:
                    (a,) = body
                    status = "resolved" if _ts(a["endsAt"]) <= i * 60 else "firing"
                    heard[path].append((i, status))
    finally:
        hook.shutdown()
        am.shutdown()
    expected = [(0, "firing"), (1, "resolved"), (5, "firing"), (8, "resolved")]
    assert heard["/hook"] == expected
    assert heard["/am/api/v2/alerts"] == expected


def test_a_refire_that_resolves_inside_the_cooldown_is_merged_away() -> None:
    """The old behaviour sent a second "resolved" for a firing never sent; now the action
    already heard "resolved", so nothing is said until a firing can be notified."""
    src = MemorySource()
    for i, v in enumerate([5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5]):
        src.add("x", (), i * 60_000, float(v))
    sent: list[Notification] = []

    class Q(ActionQueue):
        def __init__(self) -> None:
            self.name = "q"

        def submit(self, n: Notification) -> bool:
            sent.append(n)
            return True

    m = AlertManager(_rules(), src, metrics=Metrics(), actions={"q": Q()},
                     policies={"A": RulePolicy(cooldown_s=300)})
    for minute in range(11):
        m.evaluate(minute * 60.0)
    assert [(n.status, n.alerts[0].starts_at) for n in sent] == [
        ("firing", 0.0), ("resolved", 0.0), ("firing", 360.0), ("resolved", 360.0)]
    # minute 10 fires again, 4 minutes after the last firing notification: held back.


def test_a_dropped_notification_is_planned_again() -> None:
    """A full queue refuses the firing: it was not heard, so the next evaluation sends it
    (and a resolve is never sent for it meanwhile)."""
    src = MemorySource()
    for i in range(3):
        src.add("x", (), i * 60_000, 5.0)
    accepted: list[Notification] = []
    answers = [False]

    class Q(ActionQueue):
        def __init__(self) -> None:
            self.name = "q"

        def submit(self, n: Notification) -> bool:
            ok = answers.pop(0) if answers else True
            if ok:
                accepted.append(n)
            return ok

    m = AlertManager(_rules(), src, metrics=Metrics(), actions={"q": Q()})
    assert m.evaluate(0.0) == []
    assert [n.status for n in m.evaluate(60.0)] == ["firing"]
    assert m.evaluate(120.0) == [] and len(accepted) == 1


# -- the real Alertmanager ----------------------------------------------------------------


def _get(url: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(url + path, timeout=2) as r:
            return json.loads(r.read() or b"null")
    except (OSError, ValueError):
        return None


def _active(url: str, alertname: str) -> list[str]:
    got = _get(url, "/api/v2/alerts?active=true&silenced=false&inhibited=false") or []
    return [a["labels"].get("job", "") for a in got
            if a["labels"].get("alertname") == alertname and a["status"]["state"] == "active"]


def test_real_alertmanager_keeps_a_firing_alert_past_resolve_timeout(
    alertmanager_short: str,
) -> None:
    """Row 1 against Alertmanager 0.25 (resolve_timeout 3s; resend_delay 1s, evaluation
    every 0.5s, so endsAt is now + 4s): our alert stays active for 3 resolve timeouts, while
    a control alert posted once without endsAt (what the agent used to send) expires; our
    resolve then ends it at once."""
    q = _queue(AlertmanagerSender(alertmanager_short, resolve=lambda v: v))
    control = _queue(AlertmanagerSender(alertmanager_short, resolve=lambda v: v))
    src = MemorySource()
    m = AlertManager(_rules('x{job="agent"} > 1'), src, metrics=Metrics(), actions={"am": q},
                     interval_s=0.5, action_policies={"am": ActionPolicy(resend_delay_s=1)})
    from timeline_telemetry.alerts.actions import AlertItem

    once = AlertItem({"alertname": "A", "job": "control"}, {}, "firing", time.time())
    assert control.submit(Notification("c", "c", "", "warning", "firing", (once,), "A"))
    assert control.flush(10)
    try:
        start = time.time()
        while time.time() - start < 3 * RESOLVE_TIMEOUT_S:
            now = time.time()
            src.add("x", (("job", "agent"),), round(now * 1000), 5.0)
            m.evaluate(now)
            time.sleep(0.5)
        assert _active(alertmanager_short, "A") == ["agent"]  # control expired, ours not
        now = time.time()
        src.add("x", (("job", "agent"),), round(now * 1000), 0.0)
        m.evaluate(now)
        assert q.flush(10)
        wait_for(lambda: _active(alertmanager_short, "A") == [], timeout=5,
                 what="resolved in Alertmanager")
    finally:
        q.shutdown()
        control.shutdown()

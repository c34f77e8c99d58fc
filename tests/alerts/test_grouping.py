"""Alert groups per action (``actions/grouping.py``) and PagerDuty's one event per group,
replayed through a built manager against a local HTTP server standing in for PagerDuty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alerts_helpers import Capture

from timeline_telemetry.alerts import MemorySource, StormSettings, build_alert_manager
from timeline_telemetry.alerts.actions import ActionQueue, AlertItem, PagerDutySender
from timeline_telemetry.alerts.actions.grouping import (
    GroupTracker,
    group_hash,
    group_key,
)
from timeline_telemetry.alerts.actions.pagerduty import MAX_LISTED, pagerduty_event
from timeline_telemetry.alerts.notify import build_notifications
from timeline_telemetry.config.errors import ConfigError
from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import EmailActionConfig, PagerDutyActionConfig
from timeline_telemetry.delivery import RetryPolicy
from timeline_telemetry.metrics import Metrics

FAST = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.0)
LAB = {"alertname": "DiskFull", "severity": "critical", "host": "ws1"}


def _item(mount: str, status: str = "firing", **labels: str) -> AlertItem:
    return AlertItem({**LAB, "mount": mount, **labels}, {"summary": f"{mount} is full"},
                     status, 1_700_000_000.0, None if status == "firing" else 1_700_000_600.0)


# -- the group key ------------------------------------------------------------------------
def test_group_key_is_alertmanagers_form() -> None:
    assert group_key(LAB, ["alertname"]) == '{}:{alertname="DiskFull"}'
    assert group_key(LAB, ["host", "alertname"]) == '{}:{alertname="DiskFull", host="ws1"}'
    assert group_key(LAB, []) == "{}:{}"  # one group for everything
    assert group_key(LAB, ["..."]) == (
        '{}:{alertname="DiskFull", host="ws1", severity="critical"}')
    assert group_key(LAB, ["missing"]) == "{}:{}"
    assert len(group_hash(group_key(LAB, ["alertname"]))) == 64


def test_tracker_knows_when_the_whole_group_resolved() -> None:
    t = GroupTracker(["alertname"])
    (g,) = t.update([_item("/a"), _item("/b")])
    assert g.opened and len(g.firing) == 2 and not g.all_resolved
    (g2,) = t.update([_item("/c")])  # more of the same group: not a new episode
    assert not g2.opened and len(g2.firing) == 3 and g2.hash == g.hash
    (g3,) = t.update([_item("/a", "resolved")])
    assert not g3.all_resolved and len(g3.firing) == 2 and len(g3.resolved) == 1
    assert t.update([_item("/a", "resolved")])[0].firing == g3.firing  # a retry: same
    (g4,) = t.update([_item("/b", "resolved"), _item("/c", "resolved")])
    assert g4.all_resolved and len(t) == 0  # forgotten once resolved
    assert t.update([_item("/a")])[0].opened  # a new episode


def test_tracker_groups_by_the_configured_labels_and_stays_bounded() -> None:
    t = GroupTracker(["mount"], max_groups=3)
    groups = t.update([_item(f"/m{i}") for i in range(5)])
    assert len(groups) == 5 and len({g.key for g in groups}) == 5
    assert len(t) == 3


def test_build_notifications_coalesces_per_group() -> None:
    changes = [("DiskFull", _item(f"/m{i}", host=f"ws{i % 2}")) for i in range(12)]
    storm = StormSettings(per_rule=5, max_per_eval=10)
    assert len(build_notifications(changes, storm)) == 1  # per rule, as before
    by_host = build_notifications(changes, storm, ["alertname", "host"])
    assert sorted(len(n.alerts) for n in by_host) == [6, 6]
    assert {n.key for n in by_host} == {
        'DiskFull/{}:{alertname="DiskFull", host="ws0"}',
        'DiskFull/{}:{alertname="DiskFull", host="ws1"}'}


# -- PagerDuty ----------------------------------------------------------------------------
def test_pagerduty_event_lists_at_most_max_listed_alerts() -> None:
    t = GroupTracker(["alertname"])
    alerts = [_item(f"/m{i}") for i in range(MAX_LISTED + 20)]
    (g,) = t.update(alerts)
    notes = build_notifications([("DiskFull", a) for a in alerts], StormSettings())
    ev = pagerduty_event(g, notes[0], routing_key="k", source="s")
    details: dict[str, Any] = ev["payload"]["custom_details"]  # type: ignore[index]
    assert len(details["firing"]) == MAX_LISTED and details["num_firing"] == MAX_LISTED + 20
    assert details["not_listed"] == 20
    assert ev["payload"]["summary"].startswith("[FIRING:70] DiskFull")  # type: ignore[index]
    assert ev["payload"]["severity"] == "critical"  # type: ignore[index]


def test_pagerduty_group_by_every_label_is_one_incident_per_alert(
    capture_server: Capture,
) -> None:
    sender = PagerDutySender("k", resolve=str, url=capture_server.url, group_by=["..."])
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    notes = build_notifications([("DiskFull", _item(f"/m{i}")) for i in range(3)],
                                StormSettings())
    for n in notes:
        assert q.submit(n)
    assert q.flush(10)
    q.shutdown()
    assert len({b["dedup_key"] for b in capture_server.wait(3)}) == 3


RULES = """\
groups:
  - name: disks
    rules:
      - alert: DiskFull
        expr: disk_used_percent > 90
        labels: {severity: critical}
        annotations: {summary: "Disk {{ $labels.mount }} is full"}
"""


def _disks(src: MemorySource, t_s: int, full: range, n: int = 30) -> None:
    for i in range(n):
        src.add("disk_used_percent", (("mount", f"/m{i}"),), t_s * 1000,
                95.0 if i in full else 10.0)


def test_thirty_alerts_of_one_rule_are_one_pagerduty_incident(
    tmp_path: Path, capture_server: Capture,
) -> None:
    """The issue's row: 30 alerts of one rule at once -> one event, resolved with the same
    dedup_key once all 30 resolved (a partial resolve updates the incident)."""
    (tmp_path / "disks.yml").write_text(RULES)
    data = {"telemetry": {"alerts": {
        "rule_files": ["disks.yml"], "desktop_notifications": False,
        "actions": [{"PagerDuty": {"routing_key": "env:PD",
                                   "url": capture_server.url + "/v2/enqueue"}}]}}}
    cfg = parse_config(data, source="t", base_dir=tmp_path).alerts
    src = MemorySource()
    _disks(src, 0, range(30))
    _disks(src, 60, range(20, 30))
    _disks(src, 120, range(0))
    m = build_alert_manager(cfg, metrics=Metrics(), source=src, data_dir=tmp_path,
                            environ={"PD": "ROUTING-KEY-123"})
    m.start()
    try:
        m.evaluate(0.0)
        (trig,) = capture_server.wait(1)
        m.evaluate(60.0)
        capture_server.wait(2)
        m.evaluate(120.0)
        bodies = capture_server.wait(3)
    finally:
        m.stop()
    trig, update, res = bodies
    assert len(bodies) == 3
    assert trig["event_action"] == "trigger" and trig["routing_key"] == "ROUTING-KEY-123"
    assert trig["dedup_key"] == group_hash('{}:{alertname="DiskFull"}')
    details = trig["payload"]["custom_details"]
    assert details["num_firing"] == 30 and len(details["firing"]) == 30
    assert {a["labels"]["mount"] for a in details["firing"]} == {f"/m{i}" for i in range(30)}
    assert trig["payload"]["summary"].startswith("[FIRING:30] DiskFull")
    assert trig["payload"]["severity"] == "critical"
    assert update["event_action"] == "trigger" and update["dedup_key"] == trig["dedup_key"]
    assert update["payload"]["custom_details"]["num_firing"] == 10
    assert update["payload"]["custom_details"]["num_resolved"] == 20
    assert res == {"routing_key": "ROUTING-KEY-123", "event_action": "resolve",
                   "dedup_key": trig["dedup_key"]}


def test_group_by_parses_per_action(tmp_path: Path) -> None:
    data = {"telemetry": {"alerts": {"actions": [
        {"PagerDuty": {"routing_key": "env:PD", "group_by": ["alertname", "host"]}},
        {"Email": {"recipients": ["a@b.test"], "group_by": ["..."]}}]}}}
    acts = parse_config(data, source="t", base_dir=tmp_path).alerts.actions
    assert isinstance(acts[0], PagerDutyActionConfig) and isinstance(acts[1], EmailActionConfig)
    assert acts[0].group_by == ("alertname", "host") and acts[1].group_by == ("...",)
    assert PagerDutyActionConfig().group_by is None  # per rule (["alertname"])
    c = parse_config(data, source="t", base_dir=tmp_path)
    shown = json.loads(json.dumps(config_to_json(c, mask_secrets=False)))
    assert parse_config(shown, source="t", base_dir=tmp_path) == c


@pytest.mark.parametrize(("group_by", "where"), [
    (["...", "host"], "PagerDuty.group_by[0]"),
    (["bad-label"], "PagerDuty.group_by[0]"),
    ("alertname", "PagerDuty.group_by"),
])
def test_bad_group_by_names_the_path(tmp_path: Path, group_by: object, where: str) -> None:
    data = {"telemetry": {"alerts": {"actions": [
        {"PagerDuty": {"routing_key": "env:PD", "group_by": group_by}}]}}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, source="t", base_dir=tmp_path)
    assert where in str(err.value)


def test_alertmanager_groups_on_its_own_side(tmp_path: Path) -> None:
    data = {"telemetry": {"alerts": {"actions": [
        {"Alertmanager": {"group_by": ["alertname"]}}]}}}
    with pytest.raises(ConfigError, match=r"Alertmanager\.group_by"):
        parse_config(data, source="t", base_dir=tmp_path)

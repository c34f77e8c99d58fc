"""Turning alert transitions into a bounded set of notifications (storm coalescing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .actions.base import AlertItem, Notification
from .actions.grouping import group_key

__all__ = ["StormSettings", "build_notifications"]


@dataclass(frozen=True)
class StormSettings:
    """More than ``per_rule`` alerts of one rule changing in one evaluation become one
    notification; at most ``max_per_eval`` notifications leave one evaluation (the rest
    are merged into a last summary). So 1,000 firing series send at most ``max_per_eval``."""

    per_rule: int = 5
    max_per_eval: int = 10


def _one(rule: str, a: AlertItem) -> Notification:
    summary = a.annotations.get("summary") or rule
    desc = a.annotations.get("description", "")
    extra = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items())
                      if k not in ("alertname", "severity"))
    title = f"{'Resolved: ' if a.status == 'resolved' else ''}{summary}"
    body = desc + (f" [{extra}]" if extra else "") + (" (flapping)" if a.flapping else "")
    return Notification(
        key=f"{rule}/{a.fingerprint}", title=title, body=body.strip(),
        severity=a.labels.get("severity", "warning"), status=a.status, alerts=(a,), rule=rule,
    )


def _many(rule: str, status: str, items: Sequence[AlertItem]) -> Notification:
    sev = "critical" if any(a.labels.get("severity") == "critical" for a in items) else (
        items[0].labels.get("severity", "warning"))
    verb = "resolved" if status == "resolved" else "firing"
    rules = sorted({a.labels.get("alertname", "") for a in items})
    shown = ", ".join(rules[:5]) + (", ..." if len(rules) > 5 else "")
    return Notification(
        key=f"{rule}/*", title=f"{len(items)} alerts {verb}: {rule or shown}",
        body=f"{len(items)} alerts {verb} ({shown}); see the alert history for the full list.",
        severity=sev, status=status, alerts=tuple(items), rule=rule,
    )


def build_notifications(
    changes: Sequence[tuple[str, AlertItem]], storm: StormSettings,
    group_by: Sequence[str] | None = None,
) -> list[Notification]:
    """``changes`` = ``(rule name, alert)`` transitions of one evaluation, in order.

    Alerts are coalesced per rule, or with ``group_by`` (an action's label names, see
    :mod:`.actions.grouping`) per group: more than ``storm.per_rule`` of one group and
    status become one notification."""
    groups: dict[tuple[str, str], list[tuple[str, AlertItem]]] = {}
    for rule, a in changes:
        gk = rule if group_by is None else group_key(a.labels, group_by)
        groups.setdefault((gk, a.status), []).append((rule, a))
    out: list[Notification] = []
    for (gk, status), pairs in groups.items():
        items = [a for _, a in pairs]
        rules = {r for r, _ in pairs}
        if len(items) > storm.per_rule:
            n = _many(rules.pop() if len(rules) == 1 else "", status, items)
            out.append(n if group_by is None else replace(n, key=f"{n.rule}/{gk}"))
        else:
            out.extend(_one(rule, a) for rule, a in pairs)
    if len(out) <= storm.max_per_eval:
        return out
    keep = out[: storm.max_per_eval - 1]
    rest = [a for n in out[storm.max_per_eval - 1:] for a in n.alerts]
    statuses = {a.status for a in rest}
    keep.append(_many("", statuses.pop() if len(statuses) == 1 else "firing", rest))
    return keep

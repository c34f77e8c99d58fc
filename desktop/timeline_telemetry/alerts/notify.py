"""Turning alert transitions into a bounded set of notifications (storm coalescing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .actions.base import AlertItem, Notification

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
    changes: Sequence[tuple[str, AlertItem]], storm: StormSettings
) -> list[Notification]:
    """``changes`` = ``(rule name, alert)`` transitions of one evaluation, in order."""
    groups: dict[tuple[str, str], list[AlertItem]] = {}
    for rule, a in changes:
        groups.setdefault((rule, a.status), []).append(a)
    out: list[Notification] = []
    for (rule, status), items in groups.items():
        if len(items) > storm.per_rule:
            out.append(_many(rule, status, items))
        else:
            out.extend(_one(rule, a) for a in items)
    if len(out) <= storm.max_per_eval:
        return out
    keep = out[: storm.max_per_eval - 1]
    rest = [a for n in out[storm.max_per_eval - 1:] for a in n.alerts]
    statuses = {a.status for a in rest}
    keep.append(_many("", statuses.pop() if len(statuses) == 1 else "firing", rest))
    return keep

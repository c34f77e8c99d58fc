"""PagerDuty Events API v2, one event per alert group, as Alertmanager's PagerDuty receiver.

``dedup_key`` is the SHA-256 of the group key (``group_by``, default ``["alertname"]``), so
30 alerts of one rule are one incident, and the same key triggers, updates and resolves it.
``payload.custom_details`` holds the group's ``firing`` and ``resolved`` alerts (at most
:data:`MAX_LISTED` each, then a count) with ``num_firing``/``num_resolved``; the ``resolve``
event goes out once every alert of the group has resolved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .base import AlertItem, Notification, SecretResolver
from .grouping import DEFAULT_GROUP_BY, AlertGroup, GroupTracker
from .http import post_json

__all__ = ["MAX_LISTED", "PAGERDUTY_EVENTS_URL", "PagerDutySender", "pagerduty_event"]

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
#: Alerts listed per list in ``custom_details`` (PagerDuty refuses events over 512 KB).
MAX_LISTED = 50
_SEVERITIES = ("critical", "error", "warning", "info")


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _listed(alerts: Sequence[AlertItem]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        {"labels": dict(a.labels), "annotations": dict(a.annotations),
         "startsAt": _iso(a.starts_at),
         **({"endsAt": _iso(a.ends_at)} if a.ends_at is not None else {})}
        for a in alerts[:MAX_LISTED]]
    return out


def _severity(alerts: Sequence[AlertItem]) -> str:
    seen = {a.labels.get("severity", "warning") for a in alerts}
    return next((s for s in _SEVERITIES if s in seen), "warning")


def _summary(g: AlertGroup, n: Notification) -> str:
    alerts = g.firing or g.alerts
    names = sorted({a.labels.get("alertname", "") for a in alerts} - {""})
    name = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") or n.rule or "alerts"
    state = f"FIRING:{len(g.firing)}" if g.firing else f"RESOLVED:{len(g.resolved)}"
    texts = {a.annotations.get("summary", "") for a in alerts}
    text = texts.pop() if len(texts) == 1 else ""
    extra = ", ".join(f"{k}={v}" for k, v in sorted(g.labels.items()) if k != "alertname")
    return (f"[{state}] {name}" + (f" ({extra})" if extra else "")
            + (f": {text}" if text else ""))


def pagerduty_event(
    g: AlertGroup, n: Notification, *, routing_key: str, source: str, description: str = "",
) -> dict[str, object]:
    """The Events API v2 body for group ``g`` (``resolve`` when all of it resolved)."""
    event: dict[str, object] = {
        "routing_key": routing_key,
        "event_action": "resolve" if g.all_resolved else "trigger",
        "dedup_key": g.hash,
    }
    if g.all_resolved:
        return event
    details: dict[str, object] = {
        "firing": _listed(g.firing), "resolved": _listed(g.resolved),
        "num_firing": len(g.firing), "num_resolved": len(g.resolved),
    }
    hidden = max(0, len(g.firing) - MAX_LISTED) + max(0, len(g.resolved) - MAX_LISTED)
    if hidden:
        details["not_listed"] = hidden
    event["payload"] = {
        "summary": (description or _summary(g, n))[:1024],
        "source": source,
        "severity": _severity(g.firing),
        "timestamp": _iso(g.started_at),
        "custom_details": details,
    }
    return event


class PagerDutySender:
    """Sends events with the routing key ``routing_key`` (a ``keyring:`` reference,
    resolved at each send, never logged). ``group_by``: label names that form a group
    (one incident each)."""

    def __init__(
        self, routing_key: str, *, resolve: SecretResolver, description: str = "",
        url: str = PAGERDUTY_EVENTS_URL, source: str = "timeline-telemetry",
        name: str = "pagerduty", group_by: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self._key = routing_key
        self._resolve = resolve
        self._description = description
        self._url = url
        self._source = source
        self._groups = GroupTracker(DEFAULT_GROUP_BY if group_by is None else group_by)

    def open(self) -> None:
        """Nothing to prepare."""

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """One event per group that ``n`` touches (a retry re-sends them: PagerDuty
        de-duplicates by ``dedup_key``)."""
        key = self._resolve(self._key)
        for g in self._groups.update(n.alerts):
            post_json(self._url, pagerduty_event(
                g, n, routing_key=key, source=self._source, description=self._description,
            ), timeout_s=timeout_s)

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """No secrets."""
        return f"PagerDuty Events v2 at {self._url}"

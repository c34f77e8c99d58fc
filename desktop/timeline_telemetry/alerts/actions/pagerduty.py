"""PagerDuty Events API v2: ``trigger`` on firing, ``resolve`` on resolved, one event per
alert with ``dedup_key`` = the alert's label fingerprint (stable across restarts)."""

from __future__ import annotations

import time

from .base import Notification, SecretResolver
from .http import post_json

__all__ = ["PAGERDUTY_EVENTS_URL", "PagerDutySender"]

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_SEVERITIES = {"critical", "error", "warning", "info"}


class PagerDutySender:
    """Sends events with the routing key ``routing_key`` (a ``keyring:`` reference,
    resolved at each send, never logged)."""

    def __init__(
        self, routing_key: str, *, resolve: SecretResolver, description: str = "",
        url: str = PAGERDUTY_EVENTS_URL, source: str = "timeline-telemetry",
        name: str = "pagerduty",
    ) -> None:
        self.name = name
        self._key = routing_key
        self._resolve = resolve
        self._description = description
        self._url = url
        self._source = source

    def open(self) -> None:
        """Nothing to prepare."""

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """One event per alert in ``n``."""
        key = self._resolve(self._key)
        for a in n.alerts:
            action = "resolve" if a.status == "resolved" else "trigger"
            event: dict[str, object] = {
                "routing_key": key,
                "event_action": action,
                "dedup_key": a.fingerprint,
            }
            if action == "trigger":
                sev = a.labels.get("severity", "warning")
                event["payload"] = {
                    "summary": (self._description or a.annotations.get("summary")
                                or n.title)[:1024],
                    "source": self._source,
                    "severity": sev if sev in _SEVERITIES else "warning",
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a.starts_at)),
                    "custom_details": {"labels": dict(a.labels),
                                       "annotations": dict(a.annotations)},
                }
            post_json(self._url, event, timeout_s=timeout_s)

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """No secrets."""
        return f"PagerDuty Events v2 at {self._url}"

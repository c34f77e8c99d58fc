"""Webhook action: the design document's Slack-style payload (``{"text": ..., "channel": ...}``, the
configured ``payload`` with ``text`` filled in) or a generic JSON body (``format:
"generic"``: Alertmanager's webhook shape: ``status``, ``alerts[]`` ...)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from timeline_telemetry.config.render import redact_url

from .base import Notification, SecretResolver
from .http import post_json

__all__ = ["WebhookSender", "generic_body", "slack_body"]


def _iso(t: float | None) -> str:
    if t is None:
        return "0001-01-01T00:00:00Z"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def slack_body(n: Notification, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The design document's payload, with ``text`` set to the notification unless it was given."""
    body = dict(payload)
    icon = "\u2705" if n.status == "resolved" else "\U0001f6a8"
    body.setdefault("text", f"{icon} {n.title}\n{n.body}")
    return body


def generic_body(n: Notification) -> dict[str, Any]:
    """An Alertmanager-webhook-like body."""
    return {
        "version": "4",
        "status": n.status,
        "groupKey": n.key,
        "title": n.title,
        "message": n.body,
        "severity": n.severity,
        "alerts": [
            {
                "status": a.status,
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": _iso(a.starts_at),
                "endsAt": _iso(a.ends_at),
                "fingerprint": a.fingerprint,
                "flapping": a.flapping,
            }
            for a in n.alerts
        ],
    }


class WebhookSender:
    """POSTs each notification to ``url`` (may be a ``keyring:``/``env:`` reference)."""

    def __init__(
        self, url: str, *, resolve: SecretResolver, payload: Mapping[str, Any] | None = None,
        body_format: str = "slack", name: str = "webhook",
    ) -> None:
        self.name = name
        self._url = url
        self._resolve = resolve
        self._payload = dict(payload or {})
        self._format = body_format

    def open(self) -> None:
        """Nothing to prepare."""

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """POST the body."""
        body = slack_body(n, self._payload) if self._format == "slack" else generic_body(n)
        post_json(self._resolve(self._url), body, timeout_s=timeout_s, hide_path=True)

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """No secrets: a reference is shown as such, a URL as its scheme and host (a
        webhook's path is often its token)."""
        shown = self._url if ":" in self._url and not self._url.startswith("http") else (
            redact_url(self._url, hide_path=True))
        return f"webhook ({self._format}) to {shown}"

"""Alertmanager API v2: ``POST /api/v2/alerts`` with every alert of the notification
(resolved ones with ``endsAt`` set, so Alertmanager resolves them)."""

from __future__ import annotations

import time

from timeline_telemetry.net.urls import redact_url

from .base import Notification, SecretResolver
from .http import post_json

__all__ = ["AlertmanagerSender"]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


class AlertmanagerSender:
    """Posts to ``<url>/api/v2/alerts``; ``generator_url`` links back to the monitor."""

    def __init__(
        self, url: str, *, resolve: SecretResolver, generator_url: str = "",
        name: str = "alertmanager",
    ) -> None:
        self.name = name
        self._url = url.rstrip("/")
        self._resolve = resolve
        self._generator = generator_url

    def open(self) -> None:
        """Nothing to prepare."""

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """One POST with all alerts."""
        body = []
        for a in n.alerts:
            item: dict[str, object] = {
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": _iso(a.starts_at),
            }
            if a.ends_at is not None:
                item["endsAt"] = _iso(a.ends_at)
            if self._generator:
                item["generatorURL"] = self._generator
            body.append(item)
        post_json(self._resolve(self._url) + "/api/v2/alerts", body, timeout_s=timeout_s)

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """No secrets."""
        return f"Alertmanager at {redact_url(self._url)}"

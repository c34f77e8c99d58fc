"""Alert actions: desktop notifier, email, webhook, PagerDuty, Alertmanager, each behind an
:class:`ActionQueue` (retries, backoff, visible status, never blocking evaluation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .alertmanager import AlertmanagerSender
    from .base import (
        ActionQueue,
        ActionSender,
        AlertItem,
        LoggingNotifier,
        Notification,
        Notifier,
        NotifierSender,
    )
    from .email import EmailSender
    from .pagerduty import PagerDutySender
    from .webhook import WebhookSender

__all__ = [
    "ActionQueue",
    "ActionSender",
    "AlertItem",
    "AlertmanagerSender",
    "EmailSender",
    "LoggingNotifier",
    "Notification",
    "Notifier",
    "NotifierSender",
    "PagerDutySender",
    "WebhookSender",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "AlertmanagerSender": ".alertmanager",
    "ActionQueue": ".base",
    "ActionSender": ".base",
    "AlertItem": ".base",
    "LoggingNotifier": ".base",
    "Notification": ".base",
    "Notifier": ".base",
    "NotifierSender": ".base",
    "EmailSender": ".email",
    "PagerDutySender": ".pagerduty",
    "WebhookSender": ".webhook",
})

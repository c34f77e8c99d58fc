"""Alert actions: desktop notifier, email, webhook, PagerDuty, Alertmanager, each behind an
:class:`ActionQueue` (retries, backoff, visible status, never blocking evaluation)."""

from __future__ import annotations

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

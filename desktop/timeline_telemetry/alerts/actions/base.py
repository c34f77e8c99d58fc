"""What an action delivers (:class:`Notification`), the Qt-free desktop :class:`Notifier`
interface, and :class:`ActionQueue`: one action run off the evaluation path with the
shared retry/backoff/status machinery
(:class:`~timeline_telemetry.delivery.QueuedExporter`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from timeline_telemetry.delivery import (
    DeliveryError,
    ExportCounters,
    QueuedExporter,
    RetryPolicy,
)
from timeline_telemetry.export.base import ExportResult, ExportStatus
from timeline_telemetry.metrics.api import Metrics

__all__ = [
    "ACTION_COUNTERS",
    "ActionQueue",
    "ActionSender",
    "AlertItem",
    "LoggingNotifier",
    "Notification",
    "Notifier",
    "NotifierSender",
    "SecretResolver",
]

_log = logging.getLogger(__name__)

#: ``resolve("keyring:NAME" | "env:NAME" | literal) -> secret``, raising on failure.
SecretResolver = Callable[[str], str]

ACTION_COUNTERS = ExportCounters(
    exported="alerts_notifications_sent_total",
    dropped="alerts_notifications_dropped_total",
    queued="alerts_notification_queue_length",
    errors="alerts_notification_errors_total",
)


@dataclass(frozen=True)
class AlertItem:
    """One alert as sent: labels (incl. ``alertname``), annotations, state and times."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: str  # "firing" | "resolved"
    starts_at: float
    ends_at: float | None = None
    value: float = 0.0
    flapping: bool = False

    @property
    def fingerprint(self) -> str:
        """A stable key for this label set (PagerDuty dedup_key, Alertmanager identity)."""
        import hashlib

        text = "\x00".join(f"{k}\x01{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Notification:
    """A message about one or more alerts of one rule (several when a storm is coalesced).

    ``key`` is stable for the rule+label set (or the rule for a coalesced batch): the
    desktop notifier replaces an older bubble with the same key.
    """

    key: str
    title: str
    body: str
    severity: str
    status: str
    alerts: tuple[AlertItem, ...] = field(default_factory=tuple)
    rule: str = ""
    items: int = 1  # so the queue's counters count notifications


class Notifier(Protocol):
    """The desktop notification interface the tray app implements (no Qt here)."""

    def notify(
        self, title: str, body: str, *, severity: str, key: str, status: str = "firing"
    ) -> None:
        """Show (or replace, same ``key``) a notification; ``status`` is ``firing`` or
        ``resolved`` (a recovery may be shown more calmly)."""
        ...


class LoggingNotifier:
    """The headless notifier: one log line per notification."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("timeline_telemetry.alerts.notify")

    def notify(
        self, title: str, body: str, *, severity: str, key: str, status: str = "firing"
    ) -> None:
        """Log the notification at WARNING (critical: ERROR; resolved: INFO)."""
        level = logging.ERROR if severity == "critical" else logging.WARNING
        if status == "resolved":
            level = logging.INFO
        self._log.log(level, "ALERT [%s] %s: %s", severity, title, body)


class ActionSender(Protocol):
    """One blocking delivery of a notification; raises :class:`DeliveryError`."""

    name: str

    def open(self) -> None:
        """Prepare; may raise ``OSError`` or :class:`DeliveryError`."""
        ...

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """Deliver ``n``."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...

    def describe(self) -> str:
        """One line for logs (no secrets)."""
        ...


class _SenderAdapter:
    """Presents an :class:`ActionSender` as the delivery queue's ``Sender``."""

    def __init__(self, sender: ActionSender) -> None:
        self.sender = sender
        self.name = sender.name

    def open(self) -> None:
        self.sender.open()

    def deliver(self, batch: Notification, *, timeout_s: float) -> int:
        self.sender.send(batch, timeout_s=timeout_s)
        return 0

    def close(self) -> None:
        self.sender.close()

    def describe(self) -> str:
        return self.sender.describe()


class ActionQueue:
    """One action: ``submit`` only enqueues; a worker delivers with retries and backoff;
    ``status()`` shows failures (Healthy / Degraded / Failed) as exporters do."""

    def __init__(
        self,
        sender: ActionSender,
        *,
        metrics: Metrics,
        policy: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self.name = sender.name
        kwargs = {} if rand is None else {"rand": rand}
        self._q: QueuedExporter[Notification] = QueuedExporter(
            _SenderAdapter(sender), metrics=metrics, counters=ACTION_COUNTERS,
            policy=policy or RetryPolicy(max_queue_items=1000), timeout_s=timeout_s,
            **kwargs,
        )

    def start(self) -> None:
        """Start the worker."""
        self._q.start()

    def submit(self, n: Notification) -> bool:
        """Queue ``n``; False when dropped (queue full or stopped). Never blocks."""
        return self._q.export(n) is ExportResult.SUCCESS

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued was delivered or dropped."""
        return self._q.force_flush(timeout_s=timeout_s)

    def status(self) -> ExportStatus:
        """Delivery health."""
        return self._q.status()

    @property
    def errors(self) -> int:
        """Failed delivery attempts since creation."""
        return self._q.errors

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Deliver what fits in ``timeout_s``, then stop."""
        self._q.shutdown(timeout_s=timeout_s)


class NotifierSender:
    """The desktop action: hands notifications to a :class:`Notifier`."""

    def __init__(self, notifier: Notifier, name: str = "desktop") -> None:
        self.name = name
        self._notifier = notifier

    def open(self) -> None:
        """Nothing to prepare."""

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """Call the notifier; an exception from it becomes a retryable failure."""
        try:
            self._notifier.notify(n.title, n.body, severity=n.severity, key=n.key,
                                  status=n.status)
        except Exception as exc:  # the tray app's bug must not kill the worker
            raise DeliveryError(f"notifier failed: {type(exc).__name__}: {exc}",
                                retryable=True) from None

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """One line for logs."""
        return f"desktop notifications via {type(self._notifier).__name__}"

"""Retry, backoff and a bounded queue, written once and wrapped around any sender.

A :class:`Sender` does one blocking delivery (an HTTP POST, a file append, a console write)
and says whether a failure is worth retrying. :class:`QueuedExporter` gives it what every
exporter needs: ``export`` only enqueues (the receiver's request thread and the SDK's batch
thread never wait for the network), one worker thread delivers in order, a failed delivery
is retried with exponential backoff while new batches wait in the queue, and a full queue
drops the *new* batch. Every outcome is counted in the metrics and turned into the
exporter's :class:`ExportStatus` by a :class:`StatusTracker`.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from timeline_telemetry.export.base import ExportResult, ExportStatus
from timeline_telemetry.export.status import StatusTracker
from timeline_telemetry.metrics.api import Metrics

__all__ = [
    "LOG_COUNTERS",
    "TRACE_COUNTERS",
    "Batch",
    "DeliveryError",
    "ExportCounters",
    "QueuedExporter",
    "RetryPolicy",
    "Sender",
]

_log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """One delivery failed. ``retryable``: worth trying the same batch again (connection
    refused, HTTP 429/502/503/504); otherwise the batch is dropped. ``retry_after_s`` is the
    server's ``Retry-After``, if any. The message is shown in the status: no secrets in it."""

    def __init__(
        self, message: str, *, retryable: bool, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class Batch(Protocol):
    """What the queue needs of a unit of work: how many items (spans, log records,
    notifications) it counts for the queue bound and the drop counters."""

    @property
    def items(self) -> int:
        """Items in this batch."""
        ...


B = TypeVar("B", bound=Batch)
B_contra = TypeVar("B_contra", bound=Batch, contravariant=True)


class Sender(Protocol[B_contra]):
    """One blocking delivery at a time (called from a single worker thread)."""

    name: str

    def open(self) -> None:
        """Prepare (create a folder...). Raises ``OSError`` or :class:`DeliveryError`."""
        ...

    def deliver(self, batch: B_contra, *, timeout_s: float) -> int:
        """Deliver ``batch``; return how many of its items the receiver rejected (OTLP
        partial success, usually 0). Raises :class:`DeliveryError`."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...

    def describe(self) -> str:
        """One log line for the startup log (no secrets)."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts at the same batch: ``initial_backoff_s`` doubling
    (``multiplier``) up to ``max_backoff_s``, each randomised by +-``jitter``; at most
    ``max_queue_items`` items (spans, log records) wait, counting the one being retried."""

    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2
    max_queue_items: int = 8192

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first retry)."""
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand() - 1.0)))


@dataclass(frozen=True, slots=True)
class ExportCounters:
    """Metric names one kind of exporter counts into (all labelled ``exporter``; drops also
    ``reason``: ``queue_full``, ``rejected``, ``shutdown``)."""

    exported: str
    dropped: str
    queued: str
    errors: str = "telemetry_export_errors_total"


TRACE_COUNTERS = ExportCounters(
    exported="telemetry_trace_spans_exported_total",
    dropped="telemetry_trace_spans_dropped_total",
    queued="telemetry_trace_export_queue_spans",
)
LOG_COUNTERS = ExportCounters(
    exported="telemetry_otlp_log_records_written_total",
    dropped="telemetry_otlp_log_records_dropped_total",
    queued="telemetry_otlp_log_queue_records",
)


class QueuedExporter(Generic[B]):
    """A trace (or log, or alert action) exporter: ``export`` enqueues, one worker thread
    delivers. Generic over the batch type its sender takes (:class:`OtlpBatch` for traces
    and logs).

    ``timeout_s`` bounds one delivery attempt. Thread-safe; ``start`` starts the worker,
    ``shutdown`` delivers what it can until the deadline and drops the rest (counted).
    """

    def __init__(
        self,
        sender: Sender[B],
        *,
        metrics: Metrics,
        counters: ExportCounters = TRACE_COUNTERS,
        policy: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sender = sender
        self.name = sender.name
        self._metrics = metrics
        self._counters = counters
        self._policy = policy or RetryPolicy()
        self._timeout_s = timeout_s
        self._rand = rand
        self._labels = {"exporter": self.name}
        self._tracker = StatusTracker(initial=ExportStatus.degraded("not started"))
        self._cond = threading.Condition()
        self._queue: collections.deque[B] = collections.deque()
        self._queued_items = 0
        self._in_flight = False
        self._stopping = False
        self._deadline = 0.0
        self._wake = threading.Event()  # cuts a backoff wait short at shutdown
        self._thread: threading.Thread | None = None
        self.exported_items = 0
        self.dropped_items: collections.Counter[str] = collections.Counter()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Open the sender and start the worker; an open failure shows in ``status()``."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name=f"telemetry-export-{self.name}", daemon=True
            )
        try:
            self.sender.open()
        except (OSError, DeliveryError) as exc:
            self._tracker.failure(_text(exc))
            _log.warning("exporter %s: %s (will retry at each export)", self.name, _text(exc))
        else:
            self._tracker.set(ExportStatus.healthy())
        self._thread.start()

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Deliver what is queued until ``timeout_s``, drop (and count) the rest, close."""
        with self._cond:
            thread = self._thread
            if thread is None or self._stopping:
                return
            self._stopping = True
            self._deadline = time.monotonic() + max(0.0, timeout_s)
            self._cond.notify_all()
        self._wake.set()
        thread.join(max(0.0, self._deadline - time.monotonic()) + 0.5)
        if thread.is_alive():
            _log.warning("exporter %s did not stop within %.1fs", self.name, timeout_s)
        with self._cond:
            self._drop_queue("shutdown")
        try:
            self.sender.close()
        except Exception:
            _log.exception("exporter %s failed to close", self.name)
        self._tracker.set(ExportStatus.degraded("stopped"))

    # -- exporting ----------------------------------------------------------------------
    def export(self, batch: B) -> ExportResult:
        """Queue ``batch``; FAILURE (and the items counted as dropped) if the queue is full
        or the exporter is stopped. Never blocks on the network."""
        if batch.items <= 0:
            return ExportResult.SUCCESS
        with self._cond:
            if self._stopping or self._thread is None:
                self._count_drop(batch.items, "shutdown")
                return ExportResult.FAILURE
            if self._queued_items + batch.items > self._policy.max_queue_items and self._queue:
                self._count_drop(batch.items, "queue_full")
                return ExportResult.FAILURE
            self._queue.append(batch)
            self._queued_items += batch.items
            queued = self._queued_items
            self._cond.notify()
        self._metrics.set_gauge(self._counters.queued, queued, self._labels)
        return ExportResult.SUCCESS

    def force_flush(self, *, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued was delivered or dropped; False on timeout."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
        return True

    def status(self) -> ExportStatus:
        """Healthy / Degraded / Failed from the real delivery outcomes."""
        return self._tracker.status()

    @property
    def queued_items(self) -> int:
        """Items waiting (including a batch being retried)."""
        return self._queued_items

    @property
    def errors(self) -> int:
        """Failed delivery attempts since creation."""
        return self._tracker.errors

    def describe(self) -> str:
        """One log line for the CLI."""
        return self.sender.describe()

    # -- the worker ---------------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue or (self._stopping and time.monotonic() >= self._deadline):
                    return
                batch = self._queue[0]
                self._in_flight = True
            try:
                rejected = self.sender.deliver(batch, timeout_s=self._attempt_timeout())
            except DeliveryError as exc:
                attempt += 1
                self._failed(exc)
                if exc.retryable and not self._stopping:
                    wait = self._policy.backoff(attempt, self._rand)
                    if exc.retry_after_s is not None:
                        wait = min(max(wait, exc.retry_after_s), self._policy.max_backoff_s)
                    self._done(batch, delivered=0, drop_reason=None)
                    self._wake.wait(wait)
                    continue
                self._done(batch, delivered=0, drop_reason="shutdown" if exc.retryable
                           else "rejected", pop=True)
            except Exception as exc:  # a bug in a sender must not kill the worker
                _log.exception("exporter %s failed unexpectedly", self.name)
                attempt += 1
                self._failed(DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False))
                self._done(batch, delivered=0, drop_reason="rejected", pop=True)
            else:
                attempt = 0
                self._tracker.success()
                rejected = min(max(0, rejected), batch.items)
                self._done(batch, delivered=batch.items - rejected,
                           drop_reason="rejected" if rejected else None, pop=True,
                           dropped=rejected)

    def _attempt_timeout(self) -> float:
        if self._stopping:
            return max(0.1, min(self._timeout_s, self._deadline - time.monotonic()))
        return self._timeout_s

    def _failed(self, exc: DeliveryError) -> None:
        first = self._tracker.consecutive_failures == 0
        self._tracker.failure(exc.message)
        self._metrics.increment_counter(self._counters.errors, 1, self._labels)
        if first:
            _log.warning("exporter %s: %s%s", self.name, exc.message,
                         " (retrying with backoff)" if exc.retryable else "")

    def _done(
        self,
        batch: B,
        *,
        delivered: int,
        drop_reason: str | None,
        pop: bool = False,
        dropped: int | None = None,
    ) -> None:
        with self._cond:
            if pop and self._queue and self._queue[0] is batch:
                self._queue.popleft()
                self._queued_items -= batch.items
            self._in_flight = False
            queued = self._queued_items
            if drop_reason is not None:
                self._count_drop(batch.items if dropped is None else dropped, drop_reason)
            self._cond.notify_all()
        if delivered:
            self.exported_items += delivered
            self._metrics.increment_counter(self._counters.exported, delivered, self._labels)
        self._metrics.set_gauge(self._counters.queued, queued, self._labels)

    def _drop_queue(self, reason: str) -> None:
        """Drop everything still queued (caller holds the condition)."""
        while self._queue:
            batch = self._queue.popleft()
            self._count_drop(batch.items, reason)
        self._queued_items = 0
        self._in_flight = False
        self._cond.notify_all()
        self._metrics.set_gauge(self._counters.queued, 0, self._labels)

    def _count_drop(self, items: int, reason: str) -> None:
        if items <= 0:
            return
        self.dropped_items[reason] += items
        self._metrics.increment_counter(
            self._counters.dropped, items, {"exporter": self.name, "reason": reason}
        )
        total = sum(self.dropped_items.values())
        if total == items or reason != "queue_full":
            _log.warning("exporter %s dropped %d item(s) (%s); %d dropped so far",
                         self.name, items, reason, total)


def _text(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"

"""What the ingest limits refused or cut: one counter, one log line a minute, the health check.

Every refusal (a data point over a series limit, a span with a bad id...) and every cut (an
item that lost attributes or had a value truncated) is recorded here once per item with a
``signal`` (traces, metrics, logs) and a ``reason``:

* ``attribute_count``: ``max_attributes`` dropped attributes of a span, event, link, data
  point, log record or resource (the item is kept);
* ``attribute_value_length``: ``max_attribute_value_length`` truncated a value (kept);
* ``metric_names``: ``max_metric_names_per_service`` refused a service's new metric name;
* ``name_length``: a metric name longer than ``max_attribute_value_length`` (refused);
* ``series_per_metric`` / ``series``: ``max_series_per_metric`` / ``max_series`` refused a
  new label set;
* ``invalid_id``: a trace or span id of the wrong length or all zero (the request is a 400);
* ``end_before_start``: a span ending before it starts (refused).

Each record increments ``telemetry_ingest_rejected_total{signal,reason}``, logs at most one
warning a minute per reason (with the count since the last line and one example naming the
metric or attribute), and is kept in per-minute buckets so that :meth:`IngestRejections.hits`
can say what bit in the last five minutes (the ``ingest`` health check). Memory is a few
entries per (signal, reason), never per refused name.

Light on purpose: no protobuf here (the receiver builds this before its first request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from timeline_telemetry.health.ingest import IngestLimitHit
from timeline_telemetry.metrics.api import Metrics

__all__ = ["LIMIT_KEYS", "REASONS", "IngestRejections", "clip", "cut_warnings"]

_log = logging.getLogger(__name__)

#: reason -> the config key that set the limit (``None``: a protocol rule, not a setting).
LIMIT_KEYS: dict[str, str | None] = {
    "attribute_count": "telemetry.ingest.limits.max_attributes",
    "attribute_value_length": "telemetry.ingest.limits.max_attribute_value_length",
    "metric_names": "telemetry.ingest.limits.max_metric_names_per_service",
    "name_length": "telemetry.ingest.limits.max_attribute_value_length",
    "series_per_metric": "telemetry.ingest.limits.max_series_per_metric",
    "series": "telemetry.ingest.limits.max_series",
    "invalid_id": None,
    "end_before_start": None,
}
REASONS = tuple(LIMIT_KEYS)
REJECTED_METRIC = "telemetry_ingest_rejected_total"
_BUCKET_S = 60.0
_SHOWN = 200


_CUTS = {"attribute_count": "lost attributes", "attribute_value_length": "had a value truncated"}


def cut_warnings(counts: dict[str, int], examples: dict[str, str]) -> list[str]:
    """The OTLP reply's warning for items kept but cut by the attribute limits (OTLP lets a
    ``partial_success`` with nothing rejected carry a message): one per reason, naming the
    limit and an example attribute."""
    out = []
    for reason, what in _CUTS.items():
        n = counts.get(reason, 0)
        if n:
            example = examples.get(reason, "")
            out.append(f"{n} item{'s' if n != 1 else ''} {what} (over {LIMIT_KEYS[reason]})"
                       + (f", e.g. {example}" if example else ""))
    return out


def clip(text: str, limit: int = _SHOWN) -> str:
    """``text`` cut to ``limit`` characters for a message (a sender's names can be huge)."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


@dataclass
class _Tally:
    total: int = 0
    example: str = ""
    last_at: float = float("-inf")
    buckets: deque[list[float]] = field(default_factory=lambda: deque(maxlen=6))
    logged_at: float = float("-inf")
    unlogged: int = 0


class IngestRejections:
    """Counts, logs (rate-limited) and remembers recent limit hits. Thread-safe.

    ``clock`` is monotonic seconds; ``log_every_s`` spaces the warnings of one reason;
    ``window_s`` is how far back :meth:`hits` looks (the health check's "recent").
    """

    def __init__(
        self,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        log_every_s: float = 60.0,
        window_s: float = 300.0,
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._log_every = log_every_s
        self.window_s = window_s
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def record(self, signal: str, reason: str, n: int, example: str) -> None:
        """``n`` items of ``signal`` refused or cut for ``reason``; ``example`` names one
        (``metric 'foo_total' of service 'x'``, ``attribute 'k' of span 'render'``)."""
        if n <= 0:
            return
        example = clip(example, 2 * _SHOWN)
        self._metrics.increment_counter(REJECTED_METRIC, n, {"signal": signal, "reason": reason})
        now = self._clock()
        with self._lock:
            tally = self._tallies.get((signal, reason))
            if tally is None:
                tally = self._tallies[(signal, reason)] = _Tally()
            tally.total += n
            tally.example = example
            tally.last_at = now
            minute = now // _BUCKET_S
            if tally.buckets and tally.buckets[-1][0] == minute:
                tally.buckets[-1][1] += n
            else:
                tally.buckets.append([minute, float(n)])
            tally.unlogged += n
            if now - tally.logged_at < self._log_every:
                return
            count, tally.unlogged, tally.logged_at = tally.unlogged, 0, now
        key = LIMIT_KEYS.get(reason)
        why = f"over {key}" if key else _RULES.get(reason, reason)
        verb = "cut" if reason.startswith("attribute") else "refused"
        _log.warning("OTLP %s: %d item%s %s (%s) since the last such line; e.g. %s", signal,
                     count, "" if count == 1 else "s", verb, why, example)

    def hits(self) -> list[IngestLimitHit]:
        """Per (signal, reason) ever hit: the total, the count in the last ``window_s``,
        seconds since the last one and the last example (what the health check reads)."""
        now = self._clock()
        first_minute = (now - self.window_s) // _BUCKET_S
        with self._lock:
            items = list(self._tallies.items())
            out = [
                IngestLimitHit(
                    signal=signal, reason=reason, limit_key=LIMIT_KEYS.get(reason) or "",
                    total=t.total,
                    recent=int(sum(c for m, c in t.buckets if m >= first_minute)),
                    seconds_ago=max(0.0, now - t.last_at), example=t.example,
                )
                for (signal, reason), t in items
            ]
        return out

    def total(self, signal: str | None = None, reason: str | None = None) -> int:
        """Items recorded so far, optionally for one signal and/or reason."""
        with self._lock:
            return sum(t.total for (s, r), t in self._tallies.items()
                       if (signal is None or s == signal) and (reason is None or r == reason))


_RULES = {
    "invalid_id": "trace ids must be 16 bytes and span ids 8, not all zero",
    "end_before_start": "a span must not end before it starts",
}

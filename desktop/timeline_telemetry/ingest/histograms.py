"""Putting a pushed OTLP histogram into a :class:`Metrics` histogram.

``Metrics`` records observations one by one; a pushed histogram arrives already aggregated
(bucket counts, sum, count). :func:`apply_histogram` sets (cumulative temporality) or adds
(delta) the state of one series directly.

Buckets: a histogram first seen here is declared with the pushed bounds, so it is exact.
When the instrument's bounds differ (a catalog metric such as the design document's
``frame_processing_duration_ms``, or ``metrics.aggregation.histogram_buckets``), counts are
re-bucketed: the cumulative count at each of our bounds is the pushed cumulative count at
the largest pushed bound not above it. That is exact for bounds both sides share and a
lower bound otherwise (an observation is never counted below a bound it may exceed).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.metrics.model import Labels

__all__ = ["apply_histogram", "rebucket"]


def rebucket(
    pushed_bounds: Sequence[float], pushed_counts: Sequence[int], bounds: Sequence[float]
) -> list[int]:
    """Per-bucket (not cumulative) counts on ``bounds`` (the last one ``+Inf``) from an OTLP
    histogram's explicit bounds and per-bucket counts (one more count than bounds)."""
    cumulative: list[int] = []
    running = 0
    for c in pushed_counts:
        running += int(c)
        cumulative.append(running)
    total = running
    finite = list(pushed_bounds)[: max(0, len(cumulative) - 1)]
    out: list[int] = []
    prev = 0
    for b in bounds:
        if math.isinf(b):
            cum = total
        else:
            i = bisect.bisect_right(finite, b)  # pushed bounds <= b
            cum = cumulative[i - 1] if i > 0 else 0
        out.append(cum - prev)
        prev = cum
    return out


def apply_histogram(
    metrics: Metrics,
    name: str,
    labels: Labels,
    *,
    bounds: Sequence[float],
    counts: Sequence[int],
    total: float,
    count: int,
    delta: bool,
) -> bool:
    """Set (``delta`` False) or add to one series of histogram ``name``; False if the series
    limit dropped it. ``name`` must already be a histogram (raises ``ValueError`` otherwise)."""
    per_bucket = rebucket(bounds, counts, metrics.histogram_bounds(name))
    return metrics.mirror_histogram(name, per_bucket, total, count, labels, delta=delta)

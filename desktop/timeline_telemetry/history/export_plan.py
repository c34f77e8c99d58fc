"""Export shaping for the diagnostics bundle: a resolution plan over a window, and
histogram families summarised as quantile series instead of one series per bucket.

Kept apart from :mod:`.store` (which reads rows) and :mod:`.csv_export` (which writes them):
this module only decides which rows to read and turns bucket counters into quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from timeline_telemetry.metrics.model import Labels

from .model import Tier
from .query import Row

__all__ = [
    "HISTOGRAM_QUANTILES",
    "ExportRange",
    "histogram_families",
    "quantile_rows",
    "resolution_plan",
]

#: The quantiles written for a histogram family, as name suffixes (``<family>_p50``).
HISTOGRAM_QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95))


@dataclass(frozen=True, slots=True)
class ExportRange:
    """Export ``[start, end]`` (Unix seconds) at ``max_points`` buckets per series, or
    every stored point when ``max_points`` is None."""

    start: float
    end: float
    max_points: int | None = None


def resolution_plan(
    start: float, end: float, *, detail_from: float, coarse_bucket_s: float = 60.0,
    max_points: int | None = None,
) -> tuple[ExportRange, ...]:
    """Full resolution from ``detail_from`` to ``end``; before it, buckets of at least
    ``coarse_bucket_s`` (and at most ``max_points`` of them). Ranges do not overlap."""
    detail_from = min(max(detail_from, start), end)
    out: list[ExportRange] = []
    coarse_s = detail_from - start
    if coarse_s > 0:
        points = max(1, math.ceil(coarse_s / coarse_bucket_s))
        if max_points is not None:
            points = min(points, max_points)
        out.append(ExportRange(start, detail_from - 0.001, points))
    out.append(ExportRange(detail_from, end, None))
    return tuple(out)


def histogram_families(names: Iterable[str]) -> set[str]:
    """Family names that have ``_bucket``, ``_count`` and ``_sum`` series among ``names``."""
    have = set(names)
    return {
        n[: -len("_bucket")]
        for n in have
        if n.endswith("_bucket")
        and f"{n[: -len('_bucket')]}_count" in have
        and f"{n[: -len('_bucket')]}_sum" in have
    }


def quantile_rows(
    buckets: Sequence[tuple[Labels, list[Row]]], quantile: float
) -> list[tuple[Labels, list[Row]]]:
    """One quantile series per label set (``le`` removed) from a family's cumulative
    bucket counters: at each point, the quantile of the observations made since the
    previous point (linear inside a bucket, as Prometheus' ``histogram_quantile``).
    Points without a new observation are left out; ``count`` is the observations counted.
    A counter that went down (the agent restarted) counts from zero.
    """
    groups: dict[Labels, dict[float, dict[float, tuple[float, Tier]]]] = {}
    for labels, rows in buckets:
        le_text = dict(labels).get("le")
        if le_text is None:
            continue
        try:
            le = float(le_text)
        except ValueError:
            continue
        rest = tuple((k, v) for k, v in labels if k != "le")
        per_ts = groups.setdefault(rest, {})
        for row in rows:
            per_ts.setdefault(row[0], {})[le] = (row[4], row[6])
    out: list[tuple[Labels, list[Row]]] = []
    for rest, per_ts in sorted(groups.items()):
        les = sorted({le for cells in per_ts.values() for le in cells})
        previous: list[float] | None = None
        series: list[Row] = []
        for ts in sorted(per_ts):
            cells = per_ts[ts]
            if any(le not in cells or math.isnan(cells[le][0]) for le in les):
                continue
            counts = [cells[le][0] for le in les]
            if previous is not None:
                delta = [c - p for c, p in zip(counts, previous, strict=True)]
                if any(d < 0 for d in delta):
                    delta = counts
                total = delta[-1]
                if total > 0:
                    q = _quantile(quantile, les, delta)
                    tier = max((cells[le][1] for le in les), key=_TIER_RANK.__getitem__)
                    series.append((ts, q, q, q, q, int(total), tier))
            previous = counts
        if series:
            out.append((rest, series))
    return out


_TIER_RANK = {Tier.RAW: 0, Tier.MINUTE: 1, Tier.QUARTER: 2}


def _quantile(q: float, les: list[float], cumulative: list[float]) -> float:
    total = cumulative[-1]
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in zip(les, cumulative, strict=True):
        if count >= rank:
            if math.isinf(le):
                return lower_le  # the highest finite bound, as Prometheus does
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return les[-1]

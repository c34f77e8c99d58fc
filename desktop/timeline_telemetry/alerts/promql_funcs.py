"""PromQL functions over range vectors, computed exactly as Prometheus 2.x does
(``extrapolatedRate`` for ``rate``/``increase``/``delta``, ``instantValue`` for
``irate``/``idelta``, the ``*_over_time`` family)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["OVER_TIME", "extrapolated_rate", "instant_value"]

Points = Sequence[tuple[int, float]]


def extrapolated_rate(
    points: Points, range_start_ms: int, range_end_ms: int, range_s: float,
    *, is_counter: bool, is_rate: bool,
) -> float | None:
    """``rate``/``increase``/``delta`` of one series; ``None`` with fewer than 2 points."""
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    result = last_v - first_v
    if is_counter:
        prev = 0.0
        for _, v in points:
            if v < prev:
                result += prev
            prev = v
    to_start = (first_t - range_start_ms) / 1000
    to_end = (range_end_ms - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    avg_step = sampled / (len(points) - 1)
    if is_counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = avg_step * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg_step / 2
    interval += to_end if to_end < threshold else avg_step / 2
    # Same operation order as Prometheus 2.x (bit-identical results).
    factor = interval / sampled
    if is_rate:
        factor /= range_s
    return result * factor


def instant_value(points: Points, *, is_rate: bool) -> float | None:
    """``irate`` (``is_rate``) or ``idelta`` from the last two points."""
    if len(points) < 2:
        return None
    (t0, v0), (t1, v1) = points[-2], points[-1]
    result = v1 - v0
    if is_rate and v1 < v0:
        result = v1
    interval = t1 - t0
    if interval == 0:
        return None
    if is_rate:
        result /= interval / 1000
    return result


def _avg(vals: list[float]) -> float:
    # Prometheus 2.42 uses an incremental mean (mean += v/n - mean/n).
    mean, count = 0.0, 0.0
    for v in vals:
        count += 1
        if math.isinf(mean):
            if math.isinf(v) and (mean > 0) == (v > 0):
                continue
            if not math.isinf(v) and not math.isnan(v):
                continue
        mean += v / count - mean / count
    return mean


def _stddev(vals: list[float]) -> float:
    count, mean, aux = 0.0, 0.0, 0.0
    for v in vals:
        count += 1
        delta = v - mean
        mean += delta / count
        aux += delta * (v - mean)
    return math.sqrt(aux / count)


def _minmax(pick: Callable[[float, float], bool]) -> Callable[[list[float]], float]:
    def f(vals: list[float]) -> float:
        best = vals[0]
        for v in vals[1:]:
            if pick(v, best) or math.isnan(best):
                best = v
        return best

    return f


def _sum(vals: list[float]) -> float:
    total = 0.0
    for v in vals:
        total += v
    return total


#: name -> reducer over the (non-stale) values in the range.
OVER_TIME: dict[str, Callable[[list[float]], float]] = {
    "avg_over_time": _avg,
    "min_over_time": _minmax(lambda a, b: a < b),
    "max_over_time": _minmax(lambda a, b: a > b),
    "sum_over_time": _sum,
    "count_over_time": lambda vals: float(len(vals)),
    "last_over_time": lambda vals: vals[-1],
    "present_over_time": lambda vals: 1.0,
    "stddev_over_time": _stddev,
    "stdvar_over_time": lambda vals: _stddev(vals) ** 2,
}

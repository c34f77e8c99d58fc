"""Where PromQL evaluation reads samples from: the local history, or an in-memory store.

Times are integer milliseconds (as in Prometheus), values floats. A Prometheus *stale
marker* (written when a series disappears) is a NaN with a special bit pattern:
:data:`STALE_NAN`; :func:`is_stale` tells it from an ordinary NaN.
"""

from __future__ import annotations

import bisect
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from timeline_telemetry.history.model import LabelMatcher, Tier
from timeline_telemetry.history.store import HistoryStore
from timeline_telemetry.metrics.model import Labels

__all__ = [
    "STALE_NAN",
    "HistorySource",
    "MemorySource",
    "RawSeries",
    "SeriesSource",
    "is_stale",
]

_STALE_BITS = 0x7FF0000000000002
#: Prometheus' staleness marker value.
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", _STALE_BITS))[0]


def is_stale(value: float) -> bool:
    """Whether ``value`` is the staleness marker (not just any NaN)."""
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == _STALE_BITS


@dataclass(frozen=True, slots=True)
class RawSeries:
    """One selected series: labels without ``__name__`` (sorted), and its points."""

    name: str
    labels: Labels
    points: Sequence[tuple[int, float]]


class SeriesSource(Protocol):
    """Anything the evaluator can select raw samples from."""

    def select(
        self, name: str, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[RawSeries]:
        """Series named ``name`` matching ``matchers`` with their points in
        ``[start_ms, end_ms]`` (both ends included, as in Prometheus 2.x)."""
        ...


class HistorySource:
    """Reads the raw tier of a :class:`HistoryStore` (downsampled points would change
    ``rate`` and ``*_over_time`` results, so they are never used)."""

    def __init__(self, store: HistoryStore) -> None:
        self._store = store

    def select(
        self, name: str, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[RawSeries]:
        """See :class:`SeriesSource`."""
        found = self._store.query(
            name, list(matchers), start=start_ms / 1000, end=end_ms / 1000, tier=Tier.RAW
        )
        return [
            RawSeries(s.name, s.labels, [(round(t * 1000), v) for t, v in s.points])
            for s in found
        ]


@dataclass
class _MemSeries:
    times: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class MemorySource:
    """An in-memory series store: the input of rule unit tests, and recording-rule output.

    Series come back in creation order, as Prometheus returns them unsorted to the engine
    (this decides the rounding of ``sum``/``avg``). ``add`` is meant to be called in time
    order per series (a sample at the same time replaces the previous one);
    ``prune(before_ms)`` drops older points.
    """

    def __init__(self) -> None:
        self._series: dict[tuple[str, Labels], _MemSeries] = {}

    def add(self, name: str, labels: Labels, t_ms: int, value: float) -> None:
        """Append one sample."""
        s = self._series.setdefault((name, tuple(sorted(labels))), _MemSeries())
        if s.times and s.times[-1] == t_ms:
            s.values[-1] = value
            return
        if s.times and s.times[-1] > t_ms:
            i = bisect.bisect_left(s.times, t_ms)
            if i < len(s.times) and s.times[i] == t_ms:
                s.values[i] = value
            else:
                s.times.insert(i, t_ms)
                s.values.insert(i, value)
            return
        s.times.append(t_ms)
        s.values.append(value)

    def prune(self, before_ms: int) -> None:
        """Forget points older than ``before_ms`` (and series left empty)."""
        for key in list(self._series):
            s = self._series[key]
            i = bisect.bisect_left(s.times, before_ms)
            del s.times[:i], s.values[:i]
            if not s.times:
                del self._series[key]

    def select(
        self, name: str, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[RawSeries]:
        """See :class:`SeriesSource`."""
        out = []
        for (n, labels), s in self._series.items():
            if n != name:
                continue
            lm = dict(labels)
            if not all(m.matches(lm) for m in matchers):
                continue
            lo = bisect.bisect_left(s.times, start_ms)
            hi = bisect.bisect_right(s.times, end_ms)
            if hi > lo:
                pts = list(zip(s.times[lo:hi], s.values[lo:hi], strict=True))
                out.append(RawSeries(n, labels, pts))
        return out  # creation order, like Prometheus' head block


class LayeredSource:
    """Several sources read as one (history plus recording-rule output)."""

    def __init__(self, *sources: SeriesSource) -> None:
        self._sources = sources

    def select(
        self, name: str, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[RawSeries]:
        """See :class:`SeriesSource`."""
        out: list[RawSeries] = []
        for src in self._sources:
            out.extend(src.select(name, matchers, start_ms, end_ms))
        return out

"""The one small interface every collector implements, and the value it returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from timeline_telemetry.metrics.model import Labels

__all__ = ["Collector", "CollectorUnavailable", "Sample"]


class Sample(NamedTuple):
    """One reading: a catalog metric name, its labels (sorted ``(name, value)`` pairs) and value.

    Gauges carry the current value; counters carry the cumulative total (the manager mirrors it).
    A named tuple: the collectors make a few hundred a second.
    """

    name: str
    value: float
    labels: Labels = ()


class CollectorUnavailable(Exception):
    """Raised by a collector's constructor or first ``collect()`` when its source is absent
    (no NVIDIA driver, say): the manager logs it once and drops the collector."""


@runtime_checkable
class Collector(Protocol):
    """A source of samples. ``collect`` runs on a worker thread, once per interval; it returns
    every series of the families it owns (a series it stops reporting disappears).

    ``families`` names every metric the collector may report. Each successful run replaces
    all of them, so a family with no sample this run (the editor exited, a GPU was lost, every
    mount failed) loses its series instead of keeping its last values. A run that raises
    replaces nothing: the last values stand and the manager counts the error.
    """

    name: str
    families: frozenset[str]

    def collect(self) -> Sequence[Sample]:
        """Read the source now."""
        ...

    def close(self) -> None:
        """Release handles (NVML, process objects). Called once, at shutdown."""
        ...

"""Exemplars: one traced measurement kept per counter series or histogram bucket, so a spike on
a Grafana panel links to the trace that caused it.

As the OTel "Prometheus and OpenMetrics compatibility" spec says, exemplars of monotonic sums
and histograms received over OTLP keep their ``trace_id`` / ``span_id`` (lowercase hex) as the
exemplar's labels, its value and its timestamp; a histogram's exemplar sits on the bucket that
holds its value. They are shown only in the OpenMetrics exposition (the text format has no
syntax for them). Bounded: the newest exemplar per series (per bucket) replaces the older
one, and at most ``max_entries`` are kept; beyond that new series get none (counted in
``dropped``). OpenMetrics limits an exemplar's label set to 128 characters: ours is 63.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .model import Labels

__all__ = ["Exemplar", "ExemplarStore"]


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One measurement of a traced operation: ``timestamp`` in Unix seconds (0 = unknown)."""

    value: float
    timestamp: float
    trace_id: str
    span_id: str


_Key = tuple[str, Labels, int]  # family name, series labels, bucket index (-1: not a bucket)


class ExemplarStore:
    """The newest exemplar per (family, series, bucket). Thread-safe."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._items: dict[_Key, Exemplar] = {}
        self._names: set[str] = set()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def record(self, name: str, labels: Labels, exemplar: Exemplar, bucket: int = -1) -> bool:
        """Keep ``exemplar`` for the series (bucket index ``bucket`` of a histogram); False
        when the store is full and the series had none."""
        key = (name, labels, bucket)
        with self._lock:
            if key not in self._items and len(self._items) >= self._max:
                self.dropped += 1
                return False
            self._items[key] = exemplar
            self._names.add(name)
        return True

    def get(self, name: str, labels: Labels, bucket: int = -1) -> Exemplar | None:
        """The exemplar of a series (or of one bucket), if any."""
        return self._items.get((name, labels, bucket))

    def has_family(self, name: str) -> bool:
        """Whether any series of ``name`` has an exemplar (renderers skip lookups if not)."""
        return name in self._names

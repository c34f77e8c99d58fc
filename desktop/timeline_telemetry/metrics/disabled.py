"""A Metrics that records nothing, for ``enabled: false``: every call is a cheap no-op."""

from __future__ import annotations

from collections.abc import Iterable

from .api import Metrics
from .instruments import AttributeInput
from .model import Labels, MetricKind, Snapshot


class DisabledMetrics(Metrics):
    """Same surface as :class:`Metrics`; calls return at once and snapshots are empty."""

    def increment_counter(
        self, name: str, value: float = 1, attributes: AttributeInput = None
    ) -> None:
        return None

    def set_gauge(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        return None

    def record_histogram(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        return None

    def record_summary(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        return None

    def set_counter_total(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        return None

    def replace_series(
        self, name: str, kind: MetricKind, values: Iterable[tuple[Labels, float]]
    ) -> None:
        return None

    def snapshot(self) -> Snapshot:
        return Snapshot(self._clock(), ())

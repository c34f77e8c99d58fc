"""Live instruments: one per metric, holding one cell per label set.

The hot path is ``cell_for(raw_key)`` (one dict lookup) followed by an update under the
instrument's lock. Label validation and canonical ordering happen once per distinct raw key.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from .model import HistogramValue, Labels, MetricSpec, Series, SummaryValue
from .naming import check_label_name

AttributeInput = Mapping[str, object] | Sequence[tuple[str, object]] | None

CellT = TypeVar("CellT")


def raw_key(attributes: AttributeInput) -> Hashable:
    """A cheap hashable key for the attributes exactly as the caller passed them."""
    if not attributes:
        return ()
    if isinstance(attributes, Mapping):
        return tuple(attributes.items())
    return tuple(attributes)


class SeriesLimitError(Exception):
    """A new label set would exceed the per-metric series limit."""


class Instrument(Generic[CellT]):
    """Base of all instruments: label-set bookkeeping shared by every kind."""

    __slots__ = ("_by_labels", "_by_raw", "_lock", "_reserved", "max_series", "spec")

    _reserved: frozenset[str]

    def __init__(self, spec: MetricSpec, max_series: int) -> None:
        self.spec = spec
        self.max_series = max_series
        self._lock = threading.Lock()
        self._by_raw: dict[Hashable, CellT] = {}
        self._by_labels: dict[Labels, CellT] = {}

    def _new_cell(self) -> CellT:
        raise NotImplementedError

    def cell_for(self, attributes: AttributeInput) -> CellT:
        """The cell for these attributes, created (and validated) on first use."""
        try:
            key = raw_key(attributes)
            cell = self._by_raw.get(key)
        except TypeError as exc:  # an unhashable attribute value
            raise ValueError(
                f"attributes of metric {self.spec.name!r} must be strings or numbers: {exc}"
            ) from None
        if cell is not None:
            return cell
        return self._slow_cell(key, attributes)

    def _slow_cell(self, key: Hashable, attributes: AttributeInput) -> CellT:
        labels = self.canonical_labels(attributes)
        with self._lock:
            cell = self._by_labels.get(labels)
            if cell is None:
                if len(self._by_labels) >= self.max_series:
                    raise SeriesLimitError(
                        f"metric {self.spec.name!r} already has {self.max_series} series"
                    )
                cell = self._new_cell()
                self._by_labels[labels] = cell
            self._by_raw[key] = cell
            return cell

    def canonical_labels(self, attributes: AttributeInput) -> Labels:
        """Validated labels sorted by name, values as strings."""
        if not attributes:
            return ()
        items = attributes.items() if isinstance(attributes, Mapping) else attributes
        out: dict[str, str] = {}
        for pair in items:
            k, v = pair
            check_label_name(self.spec.name, k, self._reserved)
            if k in out:
                raise ValueError(f"attribute {k!r} given twice for metric {self.spec.name!r}")
            out[k] = v if isinstance(v, str) else _label_value(v)
        return tuple(sorted(out.items()))

    def remove(self, labels: Labels) -> None:
        """Forget one series (e.g. a mount that went away)."""
        with self._lock:
            cell = self._by_labels.pop(labels, None)
            if cell is not None:
                self._by_raw = {k: c for k, c in self._by_raw.items() if c is not cell}

    def retain(self, cells: set[int]) -> None:
        """Forget every series whose cell (by ``id``) is not in ``cells``."""
        with self._lock:
            stale = [labels for labels, cell in self._by_labels.items() if id(cell) not in cells]
        for labels in stale:
            self.remove(labels)

    def clear(self) -> None:
        """Forget every series."""
        with self._lock:
            self._by_labels.clear()
            self._by_raw.clear()

    def series_count(self) -> int:
        """How many label sets this instrument holds."""
        return len(self._by_labels)

    def series(self) -> list[Series]:
        """Current value of every series (a consistent copy)."""
        raise NotImplementedError


def _label_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    raise ValueError(f"attribute value {v!r} is not a string, number or bool")


class Counter(Instrument[list[float]]):
    """Monotonic total. Cells are one-element lists so the update is in place."""

    __slots__ = ()
    _reserved = frozenset()

    def _new_cell(self) -> list[float]:
        return [0.0]

    def add(self, value: float, attributes: AttributeInput) -> None:
        if not value >= 0:  # also rejects NaN
            raise ValueError(
                f"counter {self.spec.name!r} can only increase: got {value!r} "
                "(use set_gauge for values that go down)"
            )
        # Inlined cell_for(): this is the hottest path of the whole API.
        key = (
            (tuple(attributes.items()) if type(attributes) is dict else tuple(attributes))
            if attributes
            else ()
        )
        try:
            cell = self._by_raw.get(key)
        except TypeError:
            cell = None
        if cell is None:
            cell = self.cell_for(attributes)
        with self._lock:
            cell[0] += value

    def set_total(self, value: float, attributes: AttributeInput) -> None:
        """Mirror a cumulative total kept elsewhere (an OS counter)."""
        self.cell_for(attributes)[0] = float(value)

    def series(self) -> list[Series]:
        with self._lock:
            return [Series(k, c[0]) for k, c in self._by_labels.items()]


class Gauge(Instrument[list[float]]):
    """A value that goes up and down; last write wins."""

    __slots__ = ()
    _reserved = frozenset()

    def _new_cell(self) -> list[float]:
        return [0.0]

    def set(self, value: float, attributes: AttributeInput) -> None:
        self.cell_for(attributes)[0] = float(value)

    def series(self) -> list[Series]:
        with self._lock:
            return [Series(k, c[0]) for k, c in self._by_labels.items()]


class _HistCell:
    __slots__ = ("count", "counts", "seen", "sum")

    def __init__(self, n: int) -> None:
        self.counts = [0] * n
        self.sum = 0.0
        self.count = 0
        #: The series last read from this cell, until the next write: an unchanged
        #: histogram (a health check's between two rounds) is read as the same object, so
        #: readers can keep what they derived from it (its samples, its exposition).
        self.seen: Series | None = None


class Histogram(Instrument[_HistCell]):
    """Fixed-bucket histogram with Prometheus semantics (``le`` upper bounds, ``+Inf`` last)."""

    __slots__ = ("bounds",)
    _reserved = frozenset({"le"})

    def __init__(self, spec: MetricSpec, max_series: int, buckets: Iterable[float]) -> None:
        super().__init__(spec, max_series)
        bounds = sorted({float(b) for b in buckets if not math.isinf(float(b))})
        if not bounds:
            raise ValueError(f"histogram {spec.name!r} needs at least one finite bucket")
        self.bounds: tuple[float, ...] = (*bounds, math.inf)

    def _new_cell(self) -> _HistCell:
        return _HistCell(len(self.bounds))

    def observe(self, value: float, attributes: AttributeInput) -> None:
        if math.isnan(value):
            raise ValueError(f"histogram {self.spec.name!r} cannot record NaN")
        cell = self.cell_for(attributes)
        i = bisect.bisect_left(self.bounds, value)
        with self._lock:
            cell.counts[i] += 1
            cell.sum += value
            cell.count += 1
            cell.seen = None

    def mirror(
        self,
        per_bucket: Sequence[int],
        total: float,
        count: int,
        attributes: AttributeInput,
        *,
        delta: bool,
    ) -> None:
        """Set (or, with ``delta``, add) an aggregate counted elsewhere (a pushed OTLP
        histogram); ``per_bucket`` holds non-cumulative counts on this instrument's bounds."""
        if len(per_bucket) != len(self.bounds):
            raise ValueError(
                f"histogram {self.spec.name!r} has {len(self.bounds)} buckets, "
                f"got {len(per_bucket)} counts"
            )
        cell = self.cell_for(attributes)
        with self._lock:
            if delta:
                cell.counts = [a + b for a, b in zip(cell.counts, per_bucket, strict=True)]
                cell.sum += total
                cell.count += count
            else:
                cell.counts = list(per_bucket)
                cell.sum = float(total)
                cell.count = int(count)
            cell.seen = None

    def series(self) -> list[Series]:
        out: list[Series] = []
        with self._lock:
            for labels, cell in self._by_labels.items():
                series = cell.seen
                if series is None:
                    cum: list[int] = []
                    running = 0
                    for c in cell.counts:
                        running += c
                        cum.append(running)
                    series = cell.seen = Series(
                        labels, HistogramValue(self.bounds, tuple(cum), cell.sum, cell.count))
                out.append(series)
        return out


class _SummaryCell:
    __slots__ = ("count", "sum", "window")

    def __init__(self, max_samples: int) -> None:
        self.window: deque[tuple[float, float]] = deque(maxlen=max_samples)
        self.sum = 0.0
        self.count = 0


class Summary(Instrument[_SummaryCell]):
    """Quantiles over a sliding window (``max_age`` seconds, at most ``max_samples`` values),
    plus lifetime sum and count, as Prometheus client libraries do."""

    __slots__ = ("clock", "max_age", "max_samples", "quantiles")
    _reserved = frozenset({"quantile"})

    def __init__(
        self,
        spec: MetricSpec,
        max_series: int,
        quantiles: Iterable[float],
        *,
        max_age: float = 600.0,
        max_samples: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(spec, max_series)
        qs = tuple(sorted({float(q) for q in quantiles}))
        if any(not 0.0 <= q <= 1.0 for q in qs):
            raise ValueError(f"summary {spec.name!r}: quantiles must be within [0, 1], got {qs}")
        self.quantiles = qs
        self.max_age = max_age
        self.max_samples = max_samples
        self.clock = clock

    def _new_cell(self) -> _SummaryCell:
        return _SummaryCell(self.max_samples)

    def observe(self, value: float, attributes: AttributeInput) -> None:
        if math.isnan(value):
            raise ValueError(f"summary {self.spec.name!r} cannot record NaN")
        cell = self.cell_for(attributes)
        now = self.clock()
        with self._lock:
            cell.window.append((now, value))
            cell.sum += value
            cell.count += 1

    def series(self) -> list[Series]:
        horizon = self.clock() - self.max_age
        out: list[Series] = []
        with self._lock:
            for labels, cell in self._by_labels.items():
                while cell.window and cell.window[0][0] < horizon:
                    cell.window.popleft()
                values = sorted(v for _, v in cell.window)
                qv = tuple((q, _quantile(values, q)) for q in self.quantiles)
                out.append(Series(labels, SummaryValue(qv, cell.sum, cell.count)))
        return out


def _quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile; NaN for an empty window (as Prometheus clients report it)."""
    if not sorted_values:
        return math.nan
    idx = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[idx]

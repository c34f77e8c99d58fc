"""The Metrics API the editor and the agent record through (the design document's ``Metrics``).

Thread-safe. Names follow Prometheus rules; a name keeps the type it was first used with.
Metrics declared in the catalog take their type, help, unit and buckets from it; any other
name is created on first use with a generic help text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from .catalog import DEFAULT_CATALOG
from .exemplars import ExemplarStore
from .instruments import (
    AttributeInput,
    Counter,
    Gauge,
    Histogram,
    Instrument,
    SeriesLimitError,
    Summary,
)
from .model import FlatSample, Labels, MetricFamily, MetricKind, MetricSpec, Snapshot
from .naming import check_metric_name

__all__ = ["DEFAULT_BUCKETS", "DEFAULT_QUANTILES", "Metrics"]

_log = logging.getLogger(__name__)

#: Used for histograms the catalog gives no buckets and the config names none.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)

Pairs = Sequence[tuple[str, object]]


class Metrics:
    """Counters, gauges, histograms and summaries, keyed by name and attributes.

    ``histogram_buckets`` / ``summary_quantiles`` come from ``metrics.aggregation``; when set,
    they apply to every histogram (or summary) without buckets of its own in the catalog.
    """

    def __init__(
        self,
        *,
        catalog: Mapping[str, MetricSpec] = DEFAULT_CATALOG,
        histogram_buckets: Sequence[float] = (),
        summary_quantiles: Sequence[float] = (),
        max_series_per_metric: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog = catalog
        self._buckets = tuple(histogram_buckets) or DEFAULT_BUCKETS
        self._buckets_from_config = bool(histogram_buckets)
        self._quantiles = tuple(summary_quantiles) or DEFAULT_QUANTILES
        self._max_series = max_series_per_metric
        self._clock = clock
        self._lock = threading.Lock()
        self._instruments: dict[str, Instrument[object]] = {}
        self._sample_owner: dict[str, str] = {}
        self._dropped = 0
        #: Exemplars of received counters and histograms (the OpenMetrics exposition shows
        #: them); bounded, see :class:`~timeline_telemetry.metrics.exemplars.ExemplarStore`.
        self.exemplars = ExemplarStore()
        #: Bumped after every write: a scrape with nothing written since the last snapshot
        #: serves that snapshot (one per collection) instead of taking its own.
        self._gen = 0
        self._latest: tuple[int, Snapshot] | None = None
        #: A summary exists: its quantiles age out with no write, so no snapshot is reused.
        self._ages = False

    # -- the design document's API ------------------------------------------------------
    def increment_counter(
        self, name: str, value: float = 1, attributes: AttributeInput = None
    ) -> None:
        """Add ``value`` (>= 0) to a counter."""
        inst = self._instruments.get(name)
        if type(inst) is Counter and value >= 0:
            # The hot path, inlined (one dict lookup, one lock): see Counter.add.
            key = (
                (tuple(attributes.items()) if type(attributes) is dict else tuple(attributes))
                if attributes
                else ()
            )
            try:
                cell = inst._by_raw.get(key)
            except TypeError:
                cell = None
            if cell is not None:
                with inst._lock:
                    cell[0] += value
                self._gen += 1
                return
        else:
            inst = self._instrument(name, MetricKind.COUNTER)
        try:
            inst.add(value, attributes)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
        self._gen += 1

    def set_gauge(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        """Set a gauge to ``value``."""
        inst = self._instruments.get(name)
        if type(inst) is not Gauge:
            inst = self._instrument(name, MetricKind.GAUGE)
        try:
            inst.set(value, attributes)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
        self._gen += 1

    def record_histogram(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        """Record one observation in a histogram."""
        inst = self._instruments.get(name)
        if type(inst) is not Histogram:
            inst = self._instrument(name, MetricKind.HISTOGRAM)
        try:
            inst.observe(value, attributes)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
        self._gen += 1

    def record_summary(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        """Record one observation in a summary (quantiles from ``metrics.aggregation``)."""
        inst = self._instruments.get(name)
        if type(inst) is not Summary:
            inst = self._instrument(name, MetricKind.SUMMARY)
        try:
            inst.observe(value, attributes)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
        self._gen += 1

    def increment_counter_with_attributes(self, name: str, value: float, attributes: Pairs) -> None:
        """The design document's form: ``attributes`` as ``[(key, value), ...]``."""
        self.increment_counter(name, value, attributes)

    def set_gauge_with_attributes(self, name: str, value: float, attributes: Pairs) -> None:
        """The design document's form: ``attributes`` as ``[(key, value), ...]``."""
        self.set_gauge(name, value, attributes)

    def record_histogram_with_attributes(self, name: str, value: float, attributes: Pairs) -> None:
        """The design document's form: ``attributes`` as ``[(key, value), ...]``."""
        self.record_histogram(name, value, attributes)

    # -- for collectors and the receiver ----------------------------------------------------
    def set_counter_total(self, name: str, value: float, attributes: AttributeInput = None) -> None:
        """Mirror a cumulative total counted elsewhere (OS counters, pushed OTLP sums)."""
        inst = self._instruments.get(name)
        if type(inst) is not Counter:
            inst = self._instrument(name, MetricKind.COUNTER)
        try:
            inst.set_total(value, attributes)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
        self._gen += 1

    def histogram_bounds(self, name: str) -> tuple[float, ...]:
        """Upper bounds (``+Inf`` last) of histogram ``name``, creating it if needed."""
        inst = self._instrument(name, MetricKind.HISTOGRAM)
        assert isinstance(inst, Histogram)
        return inst.bounds

    def mirror_histogram(
        self,
        name: str,
        per_bucket: Sequence[int],
        total: float,
        count: int,
        attributes: AttributeInput = None,
        *,
        delta: bool,
    ) -> bool:
        """Set (or add, with ``delta``) a histogram aggregated elsewhere; ``per_bucket`` is
        non-cumulative, on :meth:`histogram_bounds`. False if the series limit dropped it."""
        inst = self._instrument(name, MetricKind.HISTOGRAM)
        try:
            inst.mirror(per_bucket, total, count, attributes, delta=delta)  # type: ignore[attr-defined]
        except SeriesLimitError:
            self._drop(name)
            return False
        finally:
            self._gen += 1
        return True

    def replace_series(
        self, name: str, kind: MetricKind, values: Iterable[tuple[Labels, float]]
    ) -> None:
        """Make ``values`` the complete set of series of a gauge or counter family.

        Series not listed are removed: a collector owns its families and reports all of
        their series every run, so a mount or child process that went away disappears.
        """
        inst = self._instrument(name, kind)
        if kind not in (MetricKind.GAUGE, MetricKind.COUNTER):
            raise ValueError(f"replace_series works on gauges and counters, not {kind.value}")
        kept: set[int] = set()  # the cells written, by identity
        for labels, value in values:
            try:
                cell = inst.cell_for(labels)
            except SeriesLimitError:
                self._drop(name)
                continue
            cell[0] = float(value)  # type: ignore[index]
            kept.add(id(cell))
        if len(kept) != inst.series_count():  # else every series was just written
            inst.retain(kept)
        self._gen += 1

    def remove_series(self, name: str, attributes: AttributeInput) -> bool:
        """Forget one series of ``name`` (expired received data); False if it was absent."""
        inst = self._instruments.get(name)
        if inst is None:
            return False
        before = inst.series_count()
        inst.remove(inst.canonical_labels(attributes))
        self._gen += 1
        return inst.series_count() < before

    def declare(self, spec: MetricSpec) -> None:
        """Create an instrument from an explicit spec (used for pushed metrics' help/unit)."""
        self._instrument(spec.name, spec.kind, spec)

    def current_values(self, name: str) -> list[float]:
        """The value of every series of gauge or counter ``name`` (empty if unused)."""
        inst = self._instruments.get(name)
        if inst is None or inst.spec.kind not in (MetricKind.GAUGE, MetricKind.COUNTER):
            return []
        return [s.value for s in inst.series() if isinstance(s.value, float)]

    def current_series(self, name: str) -> list[tuple[Labels, float]]:
        """Like :meth:`current_values`, with each series' labels."""
        inst = self._instruments.get(name)
        if inst is None or inst.spec.kind not in (MetricKind.GAUGE, MetricKind.COUNTER):
            return []
        return [(s.labels, s.value) for s in inst.series() if isinstance(s.value, float)]

    def kind_of(self, name: str) -> MetricKind | None:
        """The kind a name is bound to, if it has been used."""
        inst = self._instruments.get(name)
        return None if inst is None else inst.spec.kind

    # -- reading ------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every family that has at least one series, as immutable values."""
        gen = self._gen  # read first: a write while this runs makes the next one fresh
        families: list[MetricFamily] = []
        for inst in list(self._instruments.values()):
            series = inst.series()
            if series:
                families.append(MetricFamily(inst.spec, tuple(series)))
        snap = Snapshot(self._clock(), tuple(families),
                        self.exemplars if len(self.exemplars) else None)
        self._latest = (gen, snap)
        return snap

    def current_snapshot(self) -> Snapshot:
        """The latest :meth:`snapshot` if nothing was written since (the same object, so a
        scrape can reuse what was rendered from it), else a new one. Its timestamp is when
        it was taken: for readers that need the values, not the time (a scrape)."""
        latest = self._latest
        if latest is not None and latest[0] == self._gen and not self._ages and \
                (latest[1].exemplars is None) == (len(self.exemplars) == 0):
            return latest[1]
        return self.snapshot()

    def flat_samples(self) -> list[FlatSample]:
        """Shortcut for ``snapshot().flat_samples()``."""
        return list(self.snapshot().flat_samples())

    def series_count(self) -> int:
        """Total label sets across all instruments."""
        return sum(i.series_count() for i in list(self._instruments.values()))

    @property
    def dropped_samples(self) -> int:
        """Samples dropped because a metric reached ``max_series_per_metric``."""
        return self._dropped

    # -- internals ----------------------------------------------------------------------
    def _drop(self, name: str) -> None:
        self._dropped += 1
        if self._dropped == 1 or self._dropped % 10000 == 0:
            _log.warning(
                "metric %r reached the limit of %d series; new label sets are dropped "
                "(%d samples dropped so far)",
                name,
                self._max_series,
                self._dropped,
            )

    def _instrument(
        self, name: str, kind: MetricKind, explicit: MetricSpec | None = None
    ) -> Instrument[object]:
        inst = self._instruments.get(name)
        if inst is not None:
            if inst.spec.kind is not kind:
                raise ValueError(
                    f"metric {name!r} is a {inst.spec.kind.value}; it cannot be used as a "
                    f"{kind.value} (pick another name)"
                )
            return inst
        with self._lock:
            inst = self._instruments.get(name)
            if inst is not None:
                return self._instrument(name, kind)
            spec = explicit or self._catalog.get(name)
            if spec is None:
                check_metric_name(name)
                spec = MetricSpec(name, kind, f"{name} (recorded by the application).")
            elif spec.kind is not kind:
                raise ValueError(
                    f"metric {name!r} is declared as a {spec.kind.value}; it cannot be used as "
                    f"a {kind.value}"
                )
            new = self._build(spec)
            self._claim_sample_names(spec)
            self._instruments[name] = new
            if spec.kind is MetricKind.SUMMARY:
                self._ages = True
            return new

    def _build(self, spec: MetricSpec) -> Instrument[object]:
        made: Instrument[object]
        if spec.kind is MetricKind.COUNTER:
            made = Counter(spec, self._max_series)  # type: ignore[assignment]
        elif spec.kind is MetricKind.GAUGE:
            made = Gauge(spec, self._max_series)  # type: ignore[assignment]
        elif spec.kind is MetricKind.HISTOGRAM:
            buckets = (
                self._buckets if self._buckets_from_config else (spec.buckets or self._buckets)
            )
            made = Histogram(spec, self._max_series, buckets)  # type: ignore[assignment]
        else:
            made = Summary(spec, self._max_series, spec.quantiles or self._quantiles)  # type: ignore[assignment]
        return made

    def _claim_sample_names(self, spec: MetricSpec) -> None:
        base = spec.exposed_name
        if spec.kind in (MetricKind.HISTOGRAM, MetricKind.SUMMARY):
            names = [base, base + "_sum", base + "_count", base + "_bucket"]
        else:
            names = [base]
        for n in names:
            owner = self._sample_owner.get(n)
            if owner is not None and owner != spec.name:
                raise ValueError(
                    f"metric {spec.name!r} would expose samples named {n!r}, which metric "
                    f"{owner!r} already exposes"
                )
        for n in names:
            self._sample_owner[n] = spec.name

"""Plain values that cross module boundaries: metric metadata, snapshots and flat samples.

Exporters, the history store and (later) plots and alert rules all read these, never the
live instruments, so a snapshot is immutable and safe to hand to another thread.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .exemplars import ExemplarStore

#: Label set of one series: ``(name, value)`` pairs sorted by name.
Labels = tuple[tuple[str, str], ...]


class MetricKind(enum.Enum):
    """The instrument type, named as in the Prometheus exposition format."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What a metric is: its name, type, help text and unit (``bytes``, ``percent``, ``ms``...).

    ``buckets`` is only used by histograms and ``quantiles`` only by summaries; empty means
    "take them from ``metrics.aggregation`` in the config".
    """

    name: str
    kind: MetricKind
    help: str
    unit: str = ""
    buckets: tuple[float, ...] = ()
    quantiles: tuple[float, ...] = ()

    @property
    def exposed_name(self) -> str:
        """The family name as Prometheus shows it (counters always end in ``_total``)."""
        if self.kind is MetricKind.COUNTER and not self.name.endswith("_total"):
            return self.name + "_total"
        return self.name


@dataclass(frozen=True, slots=True)
class HistogramValue:
    """A histogram's state: cumulative counts per upper bound (the last bound is ``+Inf``)."""

    bounds: tuple[float, ...]
    cumulative_counts: tuple[int, ...]
    sum: float
    count: int


@dataclass(frozen=True, slots=True)
class SummaryValue:
    """A summary's state: ``(quantile, value)`` pairs over its window, and lifetime sum/count."""

    quantiles: tuple[tuple[float, float], ...]
    sum: float
    count: int


SeriesValue = float | HistogramValue | SummaryValue


class Series(NamedTuple):
    """One labelled series of a family and its current value (a named tuple, like
    :class:`FlatSample`: every snapshot makes one per series)."""

    labels: Labels
    value: SeriesValue


class FlatSample(NamedTuple):
    """One Prometheus-style sample: the exposed sample name (``_bucket``/``_sum``/``_count``
    expanded, ``_total`` on counters), its labels (``le``/``quantile`` included) and value.

    This is the unit the history stores and PromQL rules see. A named tuple: every
    collection makes one per series (a few hundred a second), and a frozen dataclass costs
    five times as much to build.
    """

    name: str
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A metric and all of its series at one instant."""

    spec: MetricSpec
    series: tuple[Series, ...]

    def flat_samples(self) -> Iterator[FlatSample]:
        """Expand into samples exactly as the Prometheus text format names them."""
        name = self.spec.exposed_name
        for s in self.series:
            v = s.value
            if isinstance(v, HistogramValue):
                yield from _histogram_samples(name, s, v)
            elif isinstance(v, SummaryValue):
                for q, qv in v.quantiles:
                    yield FlatSample(name, _with_label(s.labels, "quantile", repr(q)), qv)
                yield FlatSample(name + "_sum", s.labels, v.sum)
                yield FlatSample(name + "_count", s.labels, float(v.count))
            else:
                yield FlatSample(name, s.labels, v)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every family at one instant (``timestamp`` in Unix seconds)."""

    timestamp: float
    families: tuple[MetricFamily, ...] = field(default_factory=tuple)
    #: Exemplars of the families (OpenMetrics exposition only); None when none are kept.
    exemplars: ExemplarStore | None = field(default=None, compare=False)

    def flat_samples(self) -> Iterator[FlatSample]:
        """All samples of all families, in family order."""
        for fam in self.families:
            yield from fam.flat_samples()

    def family(self, name: str) -> MetricFamily | None:
        """The family with this (declared or exposed) name, if present."""
        for fam in self.families:
            if name in (fam.spec.name, fam.spec.exposed_name):
                return fam
        return None


#: Each histogram series' samples, by (name, labels), while the series is the same object:
#: a collection flattens every histogram for the history, and most are unchanged (a health
#: check's between two rounds; the instrument then hands out the same series).
_HISTOGRAM_SAMPLES: dict[tuple[str, Labels], tuple[Series, tuple[FlatSample, ...]]] = {}
_MAX_HISTOGRAM_SERIES = 4096


def _histogram_samples(name: str, s: Series, v: HistogramValue) -> tuple[FlatSample, ...]:
    key = (name, s.labels)
    found = _HISTOGRAM_SAMPLES.get(key)
    if found is not None and found[0] is s:
        return found[1]
    bucket = name + "_bucket"
    samples = (
        *(FlatSample(bucket, _with_label(s.labels, "le", _format_bound(bound)), cum)
          for bound, cum in zip(v.bounds, v.cumulative_counts, strict=True)),
        FlatSample(name + "_sum", s.labels, v.sum),
        FlatSample(name + "_count", s.labels, float(v.count)),
    )
    if len(_HISTOGRAM_SAMPLES) >= _MAX_HISTOGRAM_SERIES:
        _HISTOGRAM_SAMPLES.clear()  # series churn: start over rather than grow
    _HISTOGRAM_SAMPLES[key] = (s, samples)
    return samples


def _format_bound(bound: float) -> str:
    if bound == float("inf"):
        return "+Inf"
    return repr(float(bound))


def _with_label(labels: Labels, key: str, value: str) -> Labels:
    return (*labels, (key, value))

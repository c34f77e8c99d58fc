"""Received OTLP metrics -> the :class:`Metrics` API (so /metrics, history and alerts see them).

Names follow :mod:`.prom_names` (the OTel-to-Prometheus rules), except that the design document's
application metrics (``metrics.catalog.APPLICATION_METRICS``) keep the design document's names: an
instrument the editor calls ``frames_processed`` (counter), ``frames_processed_total``,
``frame.processing.duration`` with unit ``ms``, or ``frame_processing_duration_ms`` all land
on the design document's family. A name that is one of the agent's own metrics (``system_*``...) is
rejected rather than mixed into the agent's series.

Instrumentation scope, as the compatibility spec says: every series of a scope with a name
carries ``otel_scope_name`` (and ``otel_scope_version`` when it has one).

Resource attributes, as the compatibility spec says: ``service.namespace``/``service.name``
become the ``job`` label and ``service.instance.id`` the ``instance`` label of every series;
all other resource attributes go to one ``target_info`` series per (job, instance) with value
1 (join on job/instance in PromQL). Prometheus scraping the agent renames these to
``exported_job``/``exported_instance`` unless the scrape config sets ``honor_labels: true``.

Exemplars of monotonic sums and histograms with a trace id are kept (newest per series, or
per bucket) in ``Metrics.exemplars`` and shown by the OpenMetrics exposition.

Data: monotonic cumulative sums set counter totals, monotonic delta sums add to them;
non-monotonic sums and gauges are gauges (delta non-monotonic sums are accumulated here);
explicit-bucket histograms set or add their state (see :mod:`.histograms`). Exponential
histograms and summaries are rejected (reported back as OTLP partial success).

Limits (``telemetry.ingest.limits``, checked before any instrument or series is created):
attributes of resources and data points are capped (:mod:`.attributes`); a service may bring
at most ``max_metric_names_per_service`` metric names, a metric at most
``max_series_per_metric`` label sets, and all received metrics together (``target_info``
included) at most ``max_series``; data points past these are refused (partial success) and
counted in :class:`IngestRejections`. Only admitted names and series are remembered, so a
flood of distinct names or label values costs CPU, never memory. A series not updated for
``series_expiration`` (5 min, the OTel Collector's Prometheus exporter's default) is
forgotten: it leaves /metrics and frees its place under the limits, so a long session of
short-lived label values (one per render) is not refused in its third hour.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from timeline_telemetry.config.schema import IngestLimitsConfig
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.metrics.catalog import APPLICATION_METRICS, DEFAULT_CATALOG
from timeline_telemetry.metrics.exemplars import Exemplar
from timeline_telemetry.metrics.model import Labels, MetricKind, MetricSpec

from .attributes import cap_attributes
from .histograms import apply_histogram
from .limits import IngestRejections, clip, cut_warnings
from .prom_names import labels_from_attributes, metric_name, prometheus_unit, sanitize_name

__all__ = ["TARGET_INFO", "MetricsOutcome", "MetricsSink"]

_log = logging.getLogger(__name__)
#: How often :meth:`MetricsSink.apply` looks for expired series (seconds).
_EXPIRY_CHECK_S = 60.0

TARGET_INFO = MetricSpec(
    "target_info", MetricKind.GAUGE,
    "Resource attributes of each service pushing OTLP metrics (value 1; join on job, "
    "instance).", "",
)
_DELTA = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
_NO_RECORDED_VALUE = pb.DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_RESOURCE_LABEL_KEYS = frozenset({"service.name", "service.namespace", "service.instance.id"})
# OTel units that the design document spells as a name suffix (frame.processing.duration + ms).
_DESIGN_UNIT_SUFFIX = {"ms": "ms", "By": "bytes", "{frame}/s": "fps", "1/s": "fps", "1": "ratio",
                     "%": "percent", "s": "seconds"}
_MAX_ERRORS_KEPT = 5
_MAX_DELTA_GAUGES = 50_000
_MAX_EXEMPLARS_PER_POINT = 16


@dataclass
class MetricsOutcome:
    """What happened to one request's data points."""

    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    #: Points kept but cut by the attribute limits (the reply's message when none is refused).
    warnings: list[str] = field(default_factory=list)

    def reject(self, n: int, why: str) -> None:
        """Count ``n`` rejected points and keep the first few reasons."""
        self.rejected += n
        why = clip(why, 400)
        if why not in self.errors and len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(why)


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    spec: MetricSpec | None  # the catalog spec for one of the design document's metrics
    error: str = ""


class MetricsSink:
    """Applies ``ExportMetricsServiceRequest`` messages to ``metrics``. Thread-safe.

    ``limits`` default to ``IngestLimitsConfig()``; ``rejections`` (optional) is told about
    everything the limits refuse or cut.
    """

    def __init__(
        self,
        metrics: Metrics,
        *,
        catalog: Mapping[str, MetricSpec] = DEFAULT_CATALOG,
        design_metrics: Iterable[MetricSpec] = APPLICATION_METRICS,
        limits: IngestLimitsConfig | None = None,
        rejections: IngestRejections | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        #: (name, labels) -> (last update, job): what :meth:`expire` reads.
        self._last_seen: dict[tuple[str, Labels], tuple[float, str]] = {}
        self._now = clock()
        self._next_expiry = self._now + _EXPIRY_CHECK_S
        self.limits = limits or IngestLimitsConfig()
        self._rejections = rejections
        design = tuple(design_metrics)
        self._design: dict[str, MetricSpec] = {}
        for spec in design:
            self._design[spec.name] = spec
            if spec.kind is MetricKind.COUNTER and spec.name.endswith("_total"):
                self._design.setdefault(spec.name[: -len("_total")], spec)
        design_names = {s.name for s in design}
        self._own = frozenset(n for n in catalog if n not in design_names) | {
            catalog[n].exposed_name for n in catalog if n not in design_names
        }
        self._lock = threading.Lock()
        # Only admitted names are cached (a refused name is resolved again if it comes back).
        self._names: dict[tuple[str, str, MetricKind], _Target] = {}
        self._targets: dict[tuple[str, str], Labels] = {}
        self._delta_gauges: dict[tuple[str, Labels], float] = {}
        self._service_names: dict[str, set[str]] = {}
        self._series: dict[str, set[Labels]] = {}
        self._series_total = 0

    @property
    def series_count(self) -> int:
        """Received series admitted so far (``target_info`` included)."""
        return self._series_total

    def apply(self, request: ExportMetricsServiceRequest) -> MetricsOutcome:
        """Record every data point of ``request`` that the limits admit."""
        self._now = now = self._clock()
        if now >= self._next_expiry:
            self._next_expiry = now + _EXPIRY_CHECK_S
            self.expire(now)
        out = MetricsOutcome()
        tally = _Tally()
        for rm in request.resource_metrics:
            cut = cap_attributes(rm.resource.attributes, max_count=self.limits.max_attributes,
                                 max_length=self.limits.max_attribute_value_length)
            if cut:
                tally.cut(cut.dropped, cut.truncated, f"attribute {cut.key!r} of a resource")
            resource_labels = self._resource(rm.resource.attributes, out, tally)
            job = resource_labels.get("job", "")
            for sm in rm.scope_metrics:
                scoped = self._scope_labels(resource_labels, sm.scope)
                for metric in sm.metrics:
                    try:
                        self._metric(metric, _Ctx(scoped, job, out, tally))
                    except ValueError as exc:  # a label or kind Metrics refuses
                        out.reject(_points(metric), f"{clip(metric.name)}: {exc}")
        if self._rejections is not None:
            tally.report(self._rejections)
        out.warnings = cut_warnings(tally.counts, tally.examples)
        return out

    # -- resources ------------------------------------------------------------------------
    def _resource(self, attributes: Iterable[KeyValue], out: MetricsOutcome, tally: _Tally
                  ) -> dict[str, str]:
        attrs = {kv.key: kv.value.string_value for kv in attributes
                 if kv.key in _RESOURCE_LABEL_KEYS}
        labels: dict[str, str] = {}
        name = attrs.get("service.name", "")
        namespace = attrs.get("service.namespace", "")
        if name:
            labels["job"] = f"{namespace}/{name}" if namespace else name
        if attrs.get("service.instance.id"):
            labels["instance"] = attrs["service.instance.id"]
        info = dict(labels)
        info.update(labels_from_attributes(attributes, skip=_RESOURCE_LABEL_KEYS))
        key = (labels.get("job", ""), labels.get("instance", ""))
        info_labels = tuple(sorted(info.items()))
        refused = ""
        with self._lock:
            old = self._targets.get(key)
            changed = old != info_labels
            if changed and old is None:
                refused = self._series_refusal(len(self._targets))
                if refused:
                    changed = False
                else:
                    self._series_total += 1
            if changed:
                self._targets[key] = info_labels
                series = [(lbl, 1.0) for lbl in self._targets.values()]
        if refused:
            tally.refuse(refused, 0, f"target_info of job {key[0]!r} instance {key[1]!r}")
            out.reject(0, f"target_info: {self._limit_text(refused)}")
        if changed:
            if self._metrics.kind_of(TARGET_INFO.name) is None:
                self._metrics.declare(TARGET_INFO)
            self._metrics.replace_series(TARGET_INFO.name, MetricKind.GAUGE, series)
        return labels

    def _scope_labels(self, resource: dict[str, str], scope: Any) -> dict[str, str]:
        """``otel_scope_name`` / ``otel_scope_version`` beside the resource's labels, as the
        compatibility spec says, so two libraries' instruments of one name stay apart and a
        user can tell which one a series came from. Cut to the attribute length limit; the
        series limits bound how many distinct scopes can add series."""
        cap = self.limits.max_attribute_value_length
        labels = dict(resource)
        if scope.name:
            labels["otel_scope_name"] = scope.name[:cap]
        if scope.version:
            labels["otel_scope_version"] = scope.version[:cap]
        return labels

    # -- limits ---------------------------------------------------------------------------
    def _series_refusal(self, in_metric: int) -> str:
        """The reason a new series may not be added (caller holds the lock), or ``""``."""
        if in_metric >= self.limits.max_series_per_metric:
            return "series_per_metric"
        if self._series_total >= self.limits.max_series:
            return "series"
        return ""

    def _limit_text(self, reason: str, job: str = "") -> str:
        lim = self.limits
        if reason == "name_length":
            return (f"refused: the name is longer than {lim.max_attribute_value_length} "
                    "characters (telemetry.ingest.limits.max_attribute_value_length)")
        if reason == "metric_names":
            return (f"refused: service {job!r} already has {lim.max_metric_names_per_service} "
                    "metric names (telemetry.ingest.limits.max_metric_names_per_service)")
        if reason == "series_per_metric":
            return (f"refused: the metric already has {lim.max_series_per_metric} series "
                    "(telemetry.ingest.limits.max_series_per_metric)")
        return (f"refused: {lim.max_series} series received in all "
                "(telemetry.ingest.limits.max_series)")

    def _name_refused(self, job: str, name: str) -> bool:
        names = self._service_names.get(job)
        return (names is not None and name not in names
                and len(names) >= self.limits.max_metric_names_per_service)

    def _admit(self, target: _Target, labels: Labels, job: str, metric: pb.Metric,
               kind: MetricKind) -> str:
        """Admit one series of ``target`` (declaring the instrument on its first series);
        ``""`` if admitted, else the refusing reason. Nothing is remembered on refusal."""
        self._last_seen[(target.name, labels)] = (self._now, job)
        series = self._series.get(target.name)
        if series is not None and labels in series:
            return ""
        with self._lock:
            series = self._series.get(target.name)
            if series is not None and labels in series:
                return ""
            if self._name_refused(job, target.name):
                self._last_seen.pop((target.name, labels), None)
                return "metric_names"
            reason = self._series_refusal(len(series) if series is not None else 0)
            if reason:
                self._last_seen.pop((target.name, labels), None)
                return reason
            if series is None:
                if target.spec is None and self._metrics.kind_of(target.name) is None:
                    self._declare(target.name, metric, kind)
                series = self._series[target.name] = set()
            series.add(labels)
            self._series_total += 1
            self._service_names.setdefault(job, set()).add(target.name)
            key = (metric.name, metric.unit, kind)
            if key not in self._names and len(self._names) < self.limits.max_series:
                self._names[key] = target
        return ""

    def expire(self, now: float | None = None) -> int:
        """Forget the received series not updated for ``limits.series_expiration``; how many
        went. Runs from :meth:`apply` at most once a minute."""
        now = self._clock() if now is None else now
        cutoff = now - self.limits.series_expiration
        gone: list[tuple[str, Labels]] = []
        with self._lock:
            for key, (seen, job) in list(self._last_seen.items()):
                if seen >= cutoff:
                    continue
                del self._last_seen[key]
                name, labels = key
                series = self._series.get(name)
                if series is None or labels not in series:
                    continue
                series.discard(labels)
                self._series_total -= 1
                self._delta_gauges.pop(key, None)
                if not series:
                    del self._series[name]
                    names = self._service_names.get(job)
                    if names is not None:
                        names.discard(name)
                gone.append(key)
        for name, labels in gone:
            self._metrics.remove_series(name, labels)
        if gone:
            _log.debug("forgot %d received series not updated for %.0f s", len(gone),
                       self.limits.series_expiration)
        return len(gone)

    def _refuse(self, reason: str, metric: pb.Metric, name: str, n: int, ctx: _Ctx) -> None:
        ctx.out.reject(n, f"{clip(metric.name)}: {self._limit_text(reason, ctx.job)}")
        ctx.tally.refuse(reason, n, f"metric {clip(name)!r} of service {clip(ctx.job)!r}")

    # -- names ----------------------------------------------------------------------------
    def _target(self, metric: pb.Metric, kind: MetricKind) -> _Target:
        found = self._names.get((metric.name, metric.unit, kind))
        if found is None:
            found = self._resolve(metric, kind)
        return found

    def _resolve(self, metric: pb.Metric, kind: MetricKind) -> _Target:
        """The family a metric lands on; declares nothing (see :meth:`_admit`)."""
        base = sanitize_name(metric.name)
        candidates = [base]
        suffix = _DESIGN_UNIT_SUFFIX.get(metric.unit)
        if suffix and not base.endswith("_" + suffix):
            candidates.append(f"{base}_{suffix}")
        generic = metric_name(metric.name, metric.unit, counter=kind is MetricKind.COUNTER,
                              gauge=kind is MetricKind.GAUGE)
        candidates.append(generic)
        for cand in candidates:
            spec = self._design.get(cand)
            if spec is not None and spec.kind is kind:
                return _Target(spec.name, spec)
        if generic in self._own or generic.removesuffix("_total") in self._own:
            return _Target(generic, None, f"{generic} is one of the monitor's own metrics; "
                                          "rename the instrument in the application")
        bound = self._metrics.kind_of(generic)
        if bound is not None and bound is not kind:
            return _Target(generic, None,
                           f"{generic} is already a {bound.value}, not a {kind.value}")
        return _Target(generic, None)

    def _declare(self, name: str, metric: pb.Metric, kind: MetricKind) -> None:
        buckets: tuple[float, ...] = ()
        if kind is MetricKind.HISTOGRAM:
            dps = metric.histogram.data_points
            bounds = tuple(dps[0].explicit_bounds) if dps else ()
            buckets = tuple(b for b in bounds if math.isfinite(b))
        self._metrics.declare(MetricSpec(
            name, kind,
            (metric.description or f"{metric.name} (received over OTLP).")[
                : self.limits.max_attribute_value_length],
            prometheus_unit(metric.unit, gauge=kind is MetricKind.GAUGE),
            buckets,
        ))

    # -- data points ----------------------------------------------------------------------
    def _labels(self, resource: dict[str, str], attributes: Any, where: str, tally: _Tally
                ) -> Labels:
        lim = self.limits
        if len(attributes) > lim.max_attributes or any(
                kv.ByteSize() > lim.max_attribute_value_length for kv in attributes):
            cut = cap_attributes(attributes, max_count=lim.max_attributes,
                                 max_length=lim.max_attribute_value_length)
            tally.cut(cut.dropped, cut.truncated, f"attribute {cut.key!r} of {where}")
        return _labels(resource, attributes)

    def _metric(self, metric: pb.Metric, ctx: _Ctx) -> None:
        out = ctx.out
        data = metric.WhichOneof("data")
        if data == "sum":
            kind = MetricKind.COUNTER if metric.sum.is_monotonic else MetricKind.GAUGE
        elif data == "gauge":
            kind = MetricKind.GAUGE
        elif data == "histogram":
            kind = MetricKind.HISTOGRAM
        elif data in ("exponential_histogram", "summary"):
            out.reject(_points(metric), f"{clip(metric.name)}: {data.replace('_', ' ')} "
                                        "metrics are not supported; use explicit-bucket "
                                        "histograms")
            return
        else:
            out.reject(0, f"{clip(metric.name)}: no data")
            return
        target = self._target(metric, kind)
        if target.error:
            out.reject(_points(metric), target.error)
            return
        if len(target.name) > self.limits.max_attribute_value_length:
            self._refuse("name_length", metric, target.name, _points(metric), ctx)
            return
        if self._name_refused(ctx.job, target.name):
            self._refuse("metric_names", metric, target.name, _points(metric), ctx)
            return
        if data == "sum":
            self._sum(metric, target, kind, ctx)
        elif data == "gauge":
            self._gauge(metric, target, ctx)
        else:
            self._histogram(metric, target, ctx)

    def _gauge(self, metric: pb.Metric, target: _Target, ctx: _Ctx) -> None:
        resource, job, out, tally = ctx.resource, ctx.job, ctx.out, ctx.tally
        where = f"metric {target.name!r}"
        for dp in metric.gauge.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            labels = self._labels(resource, dp.attributes, where, tally)
            refused = self._admit(target, labels, job, metric, MetricKind.GAUGE)
            if refused:
                self._refuse(refused, metric, target.name, 1, ctx)
                continue
            self._metrics.set_gauge(target.name, _value(dp), labels)
            out.accepted += 1

    def _sum(self, metric: pb.Metric, target: _Target, kind: MetricKind, ctx: _Ctx) -> None:
        resource, job, out, tally = ctx.resource, ctx.job, ctx.out, ctx.tally
        s = metric.sum
        delta = s.aggregation_temporality == _DELTA
        m = self._metrics
        where = f"metric {target.name!r}"
        for dp in s.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            value = _value(dp)
            if kind is MetricKind.COUNTER and delta and not value >= 0:
                out.reject(1, f"{clip(metric.name)}: a monotonic delta of {value!r}")
                continue
            labels = self._labels(resource, dp.attributes, where, tally)
            refused = self._admit(target, labels, job, metric, kind)
            if refused:
                self._refuse(refused, metric, target.name, 1, ctx)
                continue
            if kind is MetricKind.COUNTER:
                if delta:
                    m.increment_counter(target.name, value, labels)
                else:
                    m.set_counter_total(target.name, value, labels)
                if dp.exemplars:
                    self._exemplars(target.name, labels, dp.exemplars, ())
            elif delta:
                key = (target.name, labels)
                with self._lock:
                    full = len(self._delta_gauges) >= _MAX_DELTA_GAUGES
                    if key not in self._delta_gauges and full:
                        out.reject(1, f"{clip(metric.name)}: too many delta up-down series")
                        continue
                    total = self._delta_gauges[key] = self._delta_gauges.get(key, 0.0) + value
                m.set_gauge(target.name, total, labels)
            else:
                m.set_gauge(target.name, value, labels)
            out.accepted += 1

    def _histogram(self, metric: pb.Metric, target: _Target, ctx: _Ctx) -> None:
        resource, job, out, tally = ctx.resource, ctx.job, ctx.out, ctx.tally
        h = metric.histogram
        delta = h.aggregation_temporality == _DELTA
        where = f"metric {target.name!r}"
        for dp in h.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            counts = list(dp.bucket_counts) or [dp.count]
            if len(counts) != len(dp.explicit_bounds) + 1:
                out.reject(1, f"{clip(metric.name)}: {len(counts)} bucket counts for "
                              f"{len(dp.explicit_bounds)} bounds")
                continue
            labels = self._labels(resource, dp.attributes, where, tally)
            refused = self._admit(target, labels, job, metric, MetricKind.HISTOGRAM)
            if refused:
                self._refuse(refused, metric, target.name, 1, ctx)
                continue
            ok = apply_histogram(
                self._metrics, target.name, labels,
                bounds=dp.explicit_bounds, counts=counts, total=dp.sum, count=dp.count,
                delta=delta,
            )
            if ok:
                out.accepted += 1
                if dp.exemplars:
                    self._exemplars(target.name, labels, dp.exemplars,
                                    self._metrics.histogram_bounds(target.name))
            else:
                out.reject(1, f"{clip(metric.name)}: series limit reached")

    def _exemplars(self, name: str, labels: Labels, exemplars: Iterable[pb.Exemplar],
                   bounds: tuple[float, ...]) -> None:
        """Keep the traced exemplars of one data point (the compatibility spec: trace_id and
        span_id as hex; a histogram's on the bucket of its value). At most
        ``_MAX_EXEMPLARS_PER_POINT`` are looked at; the store bounds the total."""
        store = self._metrics.exemplars
        for n, ex in enumerate(exemplars):
            if n >= _MAX_EXEMPLARS_PER_POINT:
                break
            if len(ex.trace_id) != 16 or len(ex.span_id) != 8:
                continue  # only traced exemplars link anywhere
            value = float(ex.as_int) if ex.WhichOneof("value") == "as_int" else ex.as_double
            if not math.isfinite(value):
                continue
            # The bucket ``Histogram.observe`` would count it in (bounds end with +Inf).
            bucket = min(bisect.bisect_left(bounds, value), len(bounds) - 1) if bounds else -1
            store.record(name, labels, Exemplar(value, ex.time_unix_nano / 1e9,
                                                 ex.trace_id.hex(), ex.span_id.hex()), bucket)


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What every data point of one resource shares while a request is applied."""

    resource: dict[str, str]
    job: str
    out: MetricsOutcome
    tally: _Tally


class _Tally:
    """One request's limit hits, reported to :class:`IngestRejections` once at the end."""

    __slots__ = ("counts", "examples")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.examples: dict[str, str] = {}

    def refuse(self, reason: str, n: int, example: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n
        self.examples.setdefault(reason, example)

    def cut(self, dropped: int, truncated: int, example: str) -> None:
        if dropped:
            self.refuse("attribute_count", 1, example)
        if truncated:
            self.refuse("attribute_value_length", 1, example)

    def report(self, rejections: IngestRejections) -> None:
        for reason, n in self.counts.items():
            rejections.record("metrics", reason, n, self.examples[reason])


def _value(dp: pb.NumberDataPoint) -> float:
    return float(dp.as_int) if dp.WhichOneof("value") == "as_int" else dp.as_double


def _labels(resource: dict[str, str], attributes: Iterable[KeyValue]) -> Labels:
    if not resource:
        return tuple(sorted(labels_from_attributes(attributes).items()))
    merged = dict(resource)
    merged.update(labels_from_attributes(attributes))
    return tuple(sorted(merged.items()))


def _points(metric: pb.Metric) -> int:
    data = metric.WhichOneof("data")
    if data is None:
        return 0
    return len(getattr(metric, data).data_points)

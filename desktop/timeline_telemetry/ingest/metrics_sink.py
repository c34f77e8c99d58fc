"""Received OTLP metrics -> the :class:`Metrics` API (so /metrics, history and alerts see them).

Names follow :mod:`.prom_names` (the OTel-to-Prometheus rules), except that the design document's
application metrics (``metrics.catalog.APPLICATION_METRICS``) keep the design document's names: an
instrument the editor calls ``frames_processed`` (counter), ``frames_processed_total``,
``frame.processing.duration`` with unit ``ms``, or ``frame_processing_duration_ms`` all land
on the design document's family. A name that is one of the agent's own metrics (``system_*``...) is
rejected rather than mixed into the agent's series.

Resource attributes, as the compatibility spec says: ``service.namespace``/``service.name``
become the ``job`` label and ``service.instance.id`` the ``instance`` label of every series;
all other resource attributes go to one ``target_info`` series per (job, instance) with value
1 (join on job/instance in PromQL). Prometheus scraping the agent renames these to
``exported_job``/``exported_instance`` unless the scrape config sets ``honor_labels: true``.

Data: monotonic cumulative sums set counter totals, monotonic delta sums add to them;
non-monotonic sums and gauges are gauges (delta non-monotonic sums are accumulated here);
explicit-bucket histograms set or add their state (see :mod:`.histograms`). Exponential
histograms and summaries are rejected (reported back as OTLP partial success).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.metrics.catalog import APPLICATION_METRICS, DEFAULT_CATALOG
from timeline_telemetry.metrics.model import Labels, MetricKind, MetricSpec

from .histograms import apply_histogram
from .prom_names import labels_from_attributes, metric_name, prometheus_unit, sanitize_name

__all__ = ["TARGET_INFO", "MetricsOutcome", "MetricsSink"]

_log = logging.getLogger(__name__)

TARGET_INFO = MetricSpec(
    "target_info", MetricKind.GAUGE,
    "Resource attributes of each service pushing OTLP metrics (value 1; join on job, "
    "instance).", "",
)
_DELTA = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
_NO_RECORDED_VALUE = pb.DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_RESOURCE_LABEL_KEYS = frozenset({"service.name", "service.namespace", "service.instance.id"})
# OTel units that the design document spells as a name suffix (frame.processing.duration + ms).
_SEED_UNIT_SUFFIX = {"ms": "ms", "By": "bytes", "{frame}/s": "fps", "1/s": "fps", "1": "ratio",
                     "%": "percent", "s": "seconds"}
_MAX_ERRORS_KEPT = 5
_MAX_DELTA_GAUGES = 50_000


@dataclass
class MetricsOutcome:
    """What happened to one request's data points."""

    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, n: int, why: str) -> None:
        """Count ``n`` rejected points and keep the first few reasons."""
        self.rejected += n
        if why not in self.errors and len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(why)


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    spec: MetricSpec | None  # the catalog spec for one of the design document's metrics
    error: str = ""


class MetricsSink:
    """Applies ``ExportMetricsServiceRequest`` messages to ``metrics``. Thread-safe."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        catalog: Mapping[str, MetricSpec] = DEFAULT_CATALOG,
        seed_metrics: Iterable[MetricSpec] = APPLICATION_METRICS,
    ) -> None:
        self._metrics = metrics
        seed = tuple(seed_metrics)
        self._seed: dict[str, MetricSpec] = {}
        for spec in seed:
            self._seed[spec.name] = spec
            if spec.kind is MetricKind.COUNTER and spec.name.endswith("_total"):
                self._seed.setdefault(spec.name[: -len("_total")], spec)
        seed_names = {s.name for s in seed}
        self._own = frozenset(n for n in catalog if n not in seed_names) | {
            catalog[n].exposed_name for n in catalog if n not in seed_names
        }
        self._lock = threading.Lock()
        self._names: dict[tuple[str, str, MetricKind], _Target] = {}
        self._targets: dict[tuple[str, str], Labels] = {}
        self._delta_gauges: dict[tuple[str, Labels], float] = {}

    def apply(self, request: ExportMetricsServiceRequest) -> MetricsOutcome:
        """Record every data point of ``request``."""
        out = MetricsOutcome()
        for rm in request.resource_metrics:
            resource_labels = self._resource(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    try:
                        self._metric(metric, resource_labels, out)
                    except ValueError as exc:  # a label or kind Metrics refuses
                        out.reject(_points(metric), f"{metric.name}: {exc}")
        return out

    # -- resources ------------------------------------------------------------------------
    def _resource(self, attributes: Iterable[KeyValue]) -> dict[str, str]:
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
        with self._lock:
            changed = self._targets.get(key) != info_labels
            if changed:
                self._targets[key] = info_labels
                series = [(lbl, 1.0) for lbl in self._targets.values()]
        if changed:
            if self._metrics.kind_of(TARGET_INFO.name) is None:
                self._metrics.declare(TARGET_INFO)
            self._metrics.replace_series(TARGET_INFO.name, MetricKind.GAUGE, series)
        return labels

    # -- names ----------------------------------------------------------------------------
    def _target(self, metric: pb.Metric, kind: MetricKind) -> _Target:
        key = (metric.name, metric.unit, kind)
        found = self._names.get(key)
        if found is None:
            found = self._resolve(metric, kind)
            with self._lock:
                self._names[key] = found
        return found

    def _resolve(self, metric: pb.Metric, kind: MetricKind) -> _Target:
        base = sanitize_name(metric.name)
        candidates = [base]
        suffix = _SEED_UNIT_SUFFIX.get(metric.unit)
        if suffix and not base.endswith("_" + suffix):
            candidates.append(f"{base}_{suffix}")
        generic = metric_name(metric.name, metric.unit, counter=kind is MetricKind.COUNTER,
                              gauge=kind is MetricKind.GAUGE)
        candidates.append(generic)
        for cand in candidates:
            spec = self._seed.get(cand)
            if spec is not None and spec.kind is kind:
                return _Target(spec.name, spec)
        if generic in self._own or generic.removesuffix("_total") in self._own:
            return _Target(generic, None, f"{generic} is one of the monitor's own metrics; "
                                          "rename the instrument in the application")
        bound = self._metrics.kind_of(generic)
        if bound is None:
            buckets: tuple[float, ...] = ()
            if kind is MetricKind.HISTOGRAM:
                dps = metric.histogram.data_points
                bounds = tuple(dps[0].explicit_bounds) if dps else ()
                buckets = tuple(b for b in bounds if math.isfinite(b))
            self._metrics.declare(MetricSpec(
                generic, kind,
                metric.description or f"{metric.name} (received over OTLP).",
                prometheus_unit(metric.unit, gauge=kind is MetricKind.GAUGE),
                buckets,
            ))
        elif bound is not kind:
            return _Target(generic, None,
                           f"{generic} is already a {bound.value}, not a {kind.value}")
        return _Target(generic, None)

    # -- data points ----------------------------------------------------------------------
    def _metric(self, metric: pb.Metric, resource: dict[str, str], out: MetricsOutcome) -> None:
        data = metric.WhichOneof("data")
        if data == "sum":
            self._sum(metric, resource, out)
        elif data == "gauge":
            target = self._target(metric, MetricKind.GAUGE)
            if target.error:
                out.reject(len(metric.gauge.data_points), target.error)
                return
            for dp in metric.gauge.data_points:
                if dp.flags & _NO_RECORDED_VALUE:
                    continue
                self._metrics.set_gauge(target.name, _value(dp), _labels(resource, dp.attributes))
                out.accepted += 1
        elif data == "histogram":
            self._histogram(metric, resource, out)
        elif data in ("exponential_histogram", "summary"):
            out.reject(_points(metric), f"{metric.name}: {data.replace('_', ' ')} metrics are "
                                        "not supported; use explicit-bucket histograms")
        else:
            out.reject(0, f"{metric.name}: no data")

    def _sum(self, metric: pb.Metric, resource: dict[str, str], out: MetricsOutcome) -> None:
        s = metric.sum
        delta = s.aggregation_temporality == _DELTA
        kind = MetricKind.COUNTER if s.is_monotonic else MetricKind.GAUGE
        target = self._target(metric, kind)
        if target.error:
            out.reject(len(s.data_points), target.error)
            return
        m = self._metrics
        for dp in s.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            value = _value(dp)
            labels = _labels(resource, dp.attributes)
            if kind is MetricKind.COUNTER:
                if delta:
                    if not value >= 0:
                        out.reject(1, f"{metric.name}: a monotonic delta of {value!r}")
                        continue
                    m.increment_counter(target.name, value, labels)
                else:
                    m.set_counter_total(target.name, value, labels)
            elif delta:
                key = (target.name, labels)
                with self._lock:
                    full = len(self._delta_gauges) >= _MAX_DELTA_GAUGES
                    if key not in self._delta_gauges and full:
                        out.reject(1, f"{metric.name}: too many delta up-down series")
                        continue
                    total = self._delta_gauges[key] = self._delta_gauges.get(key, 0.0) + value
                m.set_gauge(target.name, total, labels)
            else:
                m.set_gauge(target.name, value, labels)
            out.accepted += 1

    def _histogram(self, metric: pb.Metric, resource: dict[str, str], out: MetricsOutcome) -> None:
        h = metric.histogram
        target = self._target(metric, MetricKind.HISTOGRAM)
        if target.error:
            out.reject(len(h.data_points), target.error)
            return
        delta = h.aggregation_temporality == _DELTA
        for dp in h.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            counts = list(dp.bucket_counts) or [dp.count]
            if len(counts) != len(dp.explicit_bounds) + 1:
                out.reject(1, f"{metric.name}: {len(counts)} bucket counts for "
                              f"{len(dp.explicit_bounds)} bounds")
                continue
            ok = apply_histogram(
                self._metrics, target.name, _labels(resource, dp.attributes),
                bounds=dp.explicit_bounds, counts=counts, total=dp.sum, count=dp.count,
                delta=delta,
            )
            if ok:
                out.accepted += 1
            else:
                out.reject(1, f"{metric.name}: series limit reached")


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

"""Snapshot -> Prometheus text exposition, written directly (no intermediate objects).

The output is byte-for-byte what ``prometheus_client``'s ``generate_latest`` (classic text
0.0.4) and ``openmetrics.exposition.generate_latest`` (OpenMetrics 1.0) produce for the same
families built by :class:`timeline_telemetry.export.prometheus.SnapshotCollector` (the tests
check both), at a fraction of the cost: rendered label sets are cached per label tuple, so a
scrape of an unchanged set of series mostly formats numbers.

Our metric and label names always match the legacy ``[a-zA-Z_:][a-zA-Z0-9_:]*`` rules
(``metrics.naming`` enforces them), so no name escaping scheme changes them.
"""

from __future__ import annotations

import math

from timeline_telemetry.metrics.exemplars import Exemplar, ExemplarStore
from timeline_telemetry.metrics.model import (
    HistogramValue,
    Labels,
    MetricFamily,
    MetricKind,
    MetricSpec,
    Series,
    Snapshot,
    SummaryValue,
)

__all__ = [
    "ExpositionRenderer",
    "escape_help",
    "escape_label_value",
    "format_value",
    "openmetrics_name",
    "openmetrics_unit",
]

_INF = math.inf
_MAX_CACHED_LABEL_SETS = 200_000


def format_value(value: float) -> str:
    """A sample value as Go (and prometheus-client) print it: ``+Inf``, ``NaN``, ``1e+06``."""
    v = float(value)
    s = repr(v)
    if s[-1] in "nf":  # 'inf', '-inf', 'nan'
        if v == _INF:
            return "+Inf"
        if v == -_INF:
            return "-Inf"
        return "NaN"
    if v >= 1e6:
        dot = s.find(".")
        if dot > 6:  # Go switches to an exponent sooner than Python does
            mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
            return f"{mantissa}e+{dot - 1:02d}"
    return s


def escape_label_value(value: str) -> str:
    r"""Label value escaping of both text formats: ``\`` ``"`` and newline."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def escape_help(text: str, *, openmetrics: bool = False) -> str:
    r"""HELP text escaping: ``\`` and newline (OpenMetrics also escapes ``"``)."""
    out = text.replace("\\", r"\\").replace("\n", r"\n")
    return out.replace('"', r"\"") if openmetrics else out


def openmetrics_name(spec: MetricSpec) -> str:
    """The family name OpenMetrics declares: counters without their ``_total`` suffix."""
    name = spec.exposed_name
    return name[:-6] if spec.kind is MetricKind.COUNTER else name


def openmetrics_unit(spec: MetricSpec) -> str:
    """The ``# UNIT`` of a family, only when its name ends with it (OpenMetrics requires it)."""
    unit = spec.unit
    return unit if unit and openmetrics_name(spec).endswith("_" + unit) else ""


class ExpositionRenderer:
    """Renders snapshots in the classic text format or OpenMetrics 1.0.

    Keeps small caches (family headers, label strings, bucket bounds); thread-safe because
    each cache entry is computed from immutable data and dict updates are atomic.
    """

    def __init__(self) -> None:
        self._headers: dict[tuple[MetricSpec, bool], str] = {}
        self._labels: dict[Labels, tuple[str, str, str]] = {}
        self._bounds: dict[tuple[float, ...], tuple[str, ...]] = {}
        #: A histogram series' lines while it is the same object (unchanged: see
        #: ``instruments._HistCell.seen``), by (name, labels).
        self._histograms: dict[tuple[str, Labels], tuple[Series, str]] = {}

    def render(self, snapshot: Snapshot, *, openmetrics: bool = False) -> bytes:
        """The whole exposition of ``snapshot`` as UTF-8 bytes."""
        out: list[str] = []
        store = snapshot.exemplars if openmetrics else None
        for fam in snapshot.families:
            if store is not None and store.has_family(fam.spec.name) and fam.spec.kind in (
                    MetricKind.COUNTER, MetricKind.HISTOGRAM):
                self._with_exemplars(fam, store, out)
            else:
                self._family(fam, openmetrics, out)
        if openmetrics:
            out.append("# EOF\n")
        return "".join(out).encode("utf-8")

    # -- internals ----------------------------------------------------------------------
    def _header(self, spec: MetricSpec, om: bool) -> str:
        """The ``# HELP`` / ``# TYPE`` lines of ``spec``, built once per format."""
        key = (spec, om)
        header = self._headers.get(key)
        if header is None:
            header = self._headers[key] = _header(spec, om)
        return header

    def _family(self, fam: MetricFamily, om: bool, out: list[str]) -> None:
        spec = fam.spec
        out.append(self._header(spec, om))
        name = spec.exposed_name
        labels_cache = self._labels
        if spec.kind is MetricKind.HISTOGRAM:
            self._histogram(fam, name, out)
        elif spec.kind is MetricKind.SUMMARY:
            self._summary(fam, name, out)
        else:
            append = out.append
            for s in fam.series:
                lab = labels_cache.get(s.labels)
                if lab is None:
                    lab = self._label_parts(s.labels)
                append(f"{name}{lab[0]} {format_value(s.value)}\n")  # type: ignore[arg-type]

    def _with_exemplars(self, fam: MetricFamily, store: ExemplarStore, out: list[str]) -> None:
        """A counter or histogram family in OpenMetrics with each series' (each bucket's)
        exemplar appended, as the OTel compatibility spec maps them."""
        spec = fam.spec
        out.append(self._header(spec, True))
        name = spec.exposed_name
        for s in fam.series:
            full, before, after = self._labels.get(s.labels) or self._label_parts(s.labels)
            v = s.value
            if isinstance(v, HistogramValue):
                for i, (bound, cum) in enumerate(zip(v.bounds, v.cumulative_counts,
                                                     strict=True)):
                    ex = store.get(spec.name, s.labels, i)
                    out.append(f'{name}_bucket{{{before}le="{format_value(bound)}"{after}}} '
                               f"{format_value(cum)}{_exemplar(ex)}\n")
                out.append(f"{name}_count{full} {format_value(v.count)}\n")
                out.append(f"{name}_sum{full} {format_value(v.sum)}\n")
            elif isinstance(v, int | float):
                ex = store.get(spec.name, s.labels)
                out.append(f"{name}{full} {format_value(v)}{_exemplar(ex)}\n")

    def _histogram(self, fam: MetricFamily, name: str, out: list[str]) -> None:
        bucket, count, total = name + "_bucket", name + "_count", name + "_sum"
        done = self._histograms
        for s in fam.series:
            v = s.value
            if not isinstance(v, HistogramValue):
                continue
            key = (name, s.labels)
            found = done.get(key)
            if found is not None and found[0] is s:
                out.append(found[1])
                continue
            lab = self._labels.get(s.labels)
            if lab is None:
                lab = self._label_parts(s.labels)
            full, before, after = lab
            les = self._bounds.get(v.bounds)
            if les is None:
                les = self._bounds[v.bounds] = tuple(format_value(b) for b in v.bounds)
            lines = [f'{bucket}{{{before}le="{le}"{after}}} {format_value(cum)}\n'
                     for le, cum in zip(les, v.cumulative_counts, strict=True)]
            lines.append(f"{count}{full} {format_value(v.count)}\n")
            lines.append(f"{total}{full} {format_value(v.sum)}\n")
            text = "".join(lines)
            if len(done) >= _MAX_CACHED_LABEL_SETS:
                done.clear()  # series churn: start over rather than grow without bound
            done[key] = (s, text)
            out.append(text)

    def _summary(self, fam: MetricFamily, name: str, out: list[str]) -> None:
        append = out.append
        for s in fam.series:
            v = s.value
            if not isinstance(v, SummaryValue):
                continue
            lab = self._labels.get(s.labels)
            if lab is None:
                lab = self._label_parts(s.labels)
            for q, qv in v.quantiles:
                labels = sorted((*s.labels, ("quantile", format_value(q))))
                append(f"{name}{_join(labels)} {format_value(qv)}\n")
            append(f"{name}_count{lab[0]} {format_value(v.count)}\n")
            append(f"{name}_sum{lab[0]} {format_value(v.sum)}\n")

    def _label_parts(self, labels: Labels) -> tuple[str, str, str]:
        """``({a="1",b="2"}, 'a="1",', ',m="x"')``: the full label string, and the parts that
        go before and after an ``le`` label (labels are printed sorted by name)."""
        items = sorted(labels)
        parts = [f'{k}="{escape_label_value(v)}"' for k, v in items]
        full = "{" + ",".join(parts) + "}" if parts else ""
        n_before = sum(1 for k, _ in items if k < "le")
        before = "".join(p + "," for p in parts[:n_before])
        after = "".join("," + p for p in parts[n_before:])
        result = (full, before, after)
        if len(self._labels) >= _MAX_CACHED_LABEL_SETS:
            self._labels.clear()  # series churn: start over rather than grow without bound
        self._labels[labels] = result
        return result


def _exemplar(ex: Exemplar | None) -> str:
    if ex is None:
        return ""
    text = (f' # {{trace_id="{ex.trace_id}",span_id="{ex.span_id}"}} '
            f"{format_value(ex.value)}")
    return text + (f" {ex.timestamp:.3f}" if ex.timestamp else "")


def _header(spec: MetricSpec, om: bool) -> str:
    kind = spec.kind.value
    if om:
        name = openmetrics_name(spec)
        text = f"# HELP {name} {escape_help(spec.help, openmetrics=True)}\n# TYPE {name} {kind}\n"
        unit = openmetrics_unit(spec)
        return text + (f"# UNIT {name} {unit}\n" if unit else "")
    name = spec.exposed_name
    return f"# HELP {name} {escape_help(spec.help)}\n# TYPE {name} {kind}\n"


def _join(items: list[tuple[str, str]]) -> str:
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in items) + "}"

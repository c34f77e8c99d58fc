"""Snapshot -> OTLP ``ExportMetricsServiceRequest``, and OTLP/JSON lines.

The JSON is what the OpenTelemetry Collector's file exporter writes: one request per line,
proto3 JSON with lowerCamelCase field names, enums as integers, 64-bit integers as strings,
and trace/span ids as hex (OTLP/JSON's one deviation from proto3 JSON, which uses base64).
:func:`to_json_line` encodes any OTLP message (the trace and log File exporters use it too)
with code generated per message type; parsing goes through json_format.

Mapping: counter -> monotonic cumulative ``Sum``; gauge -> ``Gauge``; histogram -> cumulative
``Histogram`` (explicit bounds without ``+Inf``, per-bucket, non-cumulative counts); summary ->
``Summary``. Labels become attributes; metric names stay as declared (no ``_total`` added).
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Mapping

# types-protobuf may be absent: then json_format is untyped (Any).
from google.protobuf import json_format  # type: ignore[import-untyped, unused-ignore]
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from timeline_telemetry import __version__
from timeline_telemetry.metrics.model import (
    HistogramValue,
    Labels,
    MetricFamily,
    MetricKind,
    Snapshot,
    SummaryValue,
)
from timeline_telemetry.otlp.json_ids import convert_ids, hex_to_b64

__all__ = ["from_json_line", "snapshot_to_otlp_request", "to_json_line", "ucum_unit"]

_CUMULATIVE = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
_UCUM = {
    "bytes": "By",
    "percent": "%",
    "seconds": "s",
    "ms": "ms",
    "celsius": "Cel",
    "ratio": "1",
    "fps": "{frame}/s",
}


def ucum_unit(unit: str) -> str:
    """Our catalog unit as the UCUM code OTLP expects (``bytes`` -> ``By``)."""
    return _UCUM.get(unit, unit)


def snapshot_to_otlp_request(
    snapshot: Snapshot,
    *,
    resource: Mapping[str, str],
    start_time: float,
    scope_name: str = "timeline-telemetry",
) -> ExportMetricsServiceRequest:
    """One request holding every family of ``snapshot``.

    ``resource`` becomes the resource attributes (``service.name``, ``service.version``,
    ``host.name``); ``start_time`` (Unix seconds) is the start of the cumulative series,
    i.e. when the agent started.
    """
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(_attributes(tuple(resource.items())))
    sm = rm.scope_metrics.add()
    sm.scope.name = scope_name
    sm.scope.version = __version__
    start_ns = int(start_time * 1e9)
    now_ns = int(snapshot.timestamp * 1e9)
    for fam in snapshot.families:
        _add_metric(sm.metrics.add(), fam, start_ns, now_ns)
    return req


def to_json_line(msg: Message) -> str:
    """``msg`` (an OTLP request or response; any message works) as one line of OTLP/JSON,
    without the trailing newline.

    The text is exactly ``json.dumps(json_format.MessageToDict(msg,
    use_integers_for_enums=True), separators=(",", ":"), ensure_ascii=False)`` with hex
    trace/span ids, written by an encoder compiled once per message type
    (``otlp_json_encode``): json_format walks each message by reflection, several times
    slower, and this is the File exporters' hot path.
    """
    from .otlp_json_encode import encode

    return encode(msg)


def from_json_line(line: str) -> ExportMetricsServiceRequest:
    """Parse one OTLP/JSON line (hex ids accepted) back into a request.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``json_format.ParseError``) on a line
    that is not an OTLP/JSON metrics request.
    """
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("an OTLP/JSON line is a JSON object")
    convert_ids(data, hex_to_b64)
    msg = ExportMetricsServiceRequest()
    json_format.ParseDict(data, msg)
    return msg


# -- internals --------------------------------------------------------------------------
def _attributes(labels: Labels) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in labels]


def _add_metric(m: pb.Metric, fam: MetricFamily, start_ns: int, now_ns: int) -> None:
    spec = fam.spec
    m.name = spec.name
    m.description = spec.help
    m.unit = ucum_unit(spec.unit)
    if spec.kind is MetricKind.COUNTER:
        m.sum.aggregation_temporality = _CUMULATIVE
        m.sum.is_monotonic = True
        for s in fam.series:
            dp = m.sum.data_points.add(
                start_time_unix_nano=start_ns, time_unix_nano=now_ns, as_double=float(s.value)  # type: ignore[arg-type]
            )
            dp.attributes.extend(_attributes(s.labels))
    elif spec.kind is MetricKind.GAUGE:
        for s in fam.series:
            dp = m.gauge.data_points.add(time_unix_nano=now_ns, as_double=float(s.value))  # type: ignore[arg-type]
            dp.attributes.extend(_attributes(s.labels))
    elif spec.kind is MetricKind.HISTOGRAM:
        m.histogram.aggregation_temporality = _CUMULATIVE
        for s in fam.series:
            v = s.value
            if not isinstance(v, HistogramValue):
                continue
            hp = m.histogram.data_points.add(
                start_time_unix_nano=start_ns, time_unix_nano=now_ns, count=v.count, sum=v.sum
            )
            hp.attributes.extend(_attributes(s.labels))
            hp.explicit_bounds.extend(b for b in v.bounds if not math.isinf(b))
            prev = 0
            for cum in v.cumulative_counts:
                hp.bucket_counts.append(cum - prev)
                prev = cum
            if len(hp.bucket_counts) == len(hp.explicit_bounds):  # no +Inf bound given
                hp.bucket_counts.append(v.count - prev)
    else:
        for s in fam.series:
            v = s.value
            if not isinstance(v, SummaryValue):
                continue
            sp = m.summary.data_points.add(
                start_time_unix_nano=start_ns, time_unix_nano=now_ns, count=v.count, sum=v.sum
            )
            sp.attributes.extend(_attributes(s.labels))
            for q, qv in v.quantiles:
                sp.quantile_values.add(quantile=q, value=qv)

"""Snapshot -> OTLP request mapping, and the one-line OTLP/JSON encoding."""

from __future__ import annotations

import json
import math

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from timeline_telemetry.export.otlp_json import (
    from_json_line,
    snapshot_to_otlp_request,
    to_json_line,
)
from timeline_telemetry.metrics import Metrics

RESOURCE = {"service.name": "timeline-studio", "service.version": "1.2.3", "host.name": "ws1"}
CUMULATIVE = pb.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


def request() -> ExportMetricsServiceRequest:
    m = Metrics(clock=lambda: 1_700_000_010.5)
    m.increment_counter("frames_processed_total", 12, {"codec": "h264"})
    m.set_gauge("system_swap_total_bytes", 5e9)
    for v in (3, 30, 30, 3000):
        m.record_histogram("frame_processing_duration_ms", v, {"stage": "decode"})
    m.record_summary("chunk_seconds", 0.25)
    return snapshot_to_otlp_request(m.snapshot(), resource=RESOURCE, start_time=1_700_000_000.0)


def metrics_by_name(req: ExportMetricsServiceRequest) -> dict[str, pb.Metric]:
    (rm,) = req.resource_metrics
    (sm,) = rm.scope_metrics
    assert sm.scope.name == "timeline-telemetry"
    return {m.name: m for m in sm.metrics}


def test_resource_attributes() -> None:
    (rm,) = request().resource_metrics
    attrs = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
    assert attrs == RESOURCE


def test_counter_is_a_monotonic_cumulative_sum() -> None:
    m = metrics_by_name(request())["frames_processed_total"]
    assert m.WhichOneof("data") == "sum"
    assert m.sum.is_monotonic and m.sum.aggregation_temporality == CUMULATIVE
    (dp,) = m.sum.data_points
    assert dp.as_double == 12.0
    assert dp.start_time_unix_nano == 1_700_000_000 * 10**9
    assert dp.time_unix_nano == 1_700_000_010_500_000_000
    assert [(a.key, a.value.string_value) for a in dp.attributes] == [("codec", "h264")]
    assert m.description == "Frames processed."


def test_gauge_keeps_its_type_and_unit_is_ucum() -> None:
    m = metrics_by_name(request())["system_swap_total_bytes"]
    assert m.WhichOneof("data") == "gauge"
    assert m.gauge.data_points[0].as_double == 5e9
    assert m.unit == "By"


def test_histogram_bounds_without_inf_and_per_bucket_counts() -> None:
    m = metrics_by_name(request())["frame_processing_duration_ms"]
    assert m.WhichOneof("data") == "histogram"
    assert m.histogram.aggregation_temporality == CUMULATIVE
    (dp,) = m.histogram.data_points
    assert not any(math.isinf(b) for b in dp.explicit_bounds)
    assert len(dp.bucket_counts) == len(dp.explicit_bounds) + 1
    assert sum(dp.bucket_counts) == dp.count == 4
    assert dp.sum == 3063.0
    by_bound = dict(zip([*dp.explicit_bounds, math.inf], dp.bucket_counts, strict=True))
    assert by_bound[5.0] == 1 and by_bound[50.0] == 2 and by_bound[5000.0] == 1
    assert m.unit == "ms"


def test_summary_quantiles() -> None:
    m = metrics_by_name(request())["chunk_seconds"]
    assert m.WhichOneof("data") == "summary"
    (dp,) = m.summary.data_points
    assert (dp.count, dp.sum) == (1, 0.25)
    assert {q.quantile: q.value for q in dp.quantile_values}[0.5] == 0.25


def test_json_line_is_one_line_of_otlp_json() -> None:
    line = to_json_line(request())
    assert "\n" not in line
    data = json.loads(line)
    metric = data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    assert metric["name"] == "frames_processed_total"
    dp = metric["sum"]["dataPoints"][0]
    assert dp["startTimeUnixNano"] == "1700000000000000000"  # 64-bit ints as strings
    assert metric["sum"]["aggregationTemporality"] == 2  # enums as integers
    assert metric["sum"]["isMonotonic"] is True
    parsed = json_format.Parse(line, ExportMetricsServiceRequest())
    assert parsed == request()


def test_exemplar_ids_are_hex_and_round_trip() -> None:
    req = request()
    m = metrics_by_name(req)["frame_processing_duration_ms"]
    ex = m.histogram.data_points[0].exemplars.add(
        trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
        span_id=bytes.fromhex("eee19b7ec3c1b174"), as_double=30.0,
    )
    assert ex.as_double == 30.0
    line = to_json_line(req)
    assert '"traceId":"5b8efff798038103d269b633813fc60c"' in line
    assert '"spanId":"eee19b7ec3c1b174"' in line
    assert from_json_line(line) == req

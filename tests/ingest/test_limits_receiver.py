"""The limits through the receiver: ``partial_success`` in protobuf and JSON replies, the
rejection counters, a 400 for bad ids, and the receiver's limit hits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from test_limits import gauges, rejected, spans
from test_protocol import PB, post

from timeline_telemetry.config.schema import IngestLimitsConfig
from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.metrics import Metrics

Make = Callable[..., OtlpReceiver]
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
_REPLIES = {"/v1/metrics": ExportMetricsServiceResponse,
            "/v1/traces": ExportTraceServiceResponse, "/v1/logs": ExportLogsServiceResponse}


def _partial(rec: OtlpReceiver, path: str, body: bytes) -> Any:
    """POST protobuf ``body`` to ``path``: the reply's ``partial_success`` (status 200)."""
    status, _, raw = post(rec, path, body, {"Content-Type": PB})
    assert status == 200
    return _REPLIES[path].FromString(raw).partial_success


def test_metrics_partial_success_names_limit_and_metric(make_receiver: Make,
                                                        metrics: Metrics) -> None:
    rec = make_receiver(limits=IngestLimitsConfig(max_series_per_metric=3))
    body = gauges([("render.queue", {"q": str(i)}) for i in range(5)]).SerializeToString()
    ps = _partial(rec, "/v1/metrics", body)
    assert ps.rejected_data_points == 2
    assert "render.queue" in ps.error_message
    assert "telemetry.ingest.limits.max_series_per_metric" in ps.error_message
    assert rejected(metrics, "metrics", "series_per_metric") == 2
    assert sum(metrics.current_values("telemetry_otlp_rejected_items_total")) == 2
    [hit] = rec.limit_hits()
    assert (hit.signal, hit.reason, hit.total) == ("metrics", "series_per_metric", 2)


def test_json_reply_carries_partial_success(make_receiver: Make) -> None:
    rec = make_receiver(limits=IngestLimitsConfig(max_metric_names_per_service=1))
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": n, "gauge": {"dataPoints": [{"asDouble": 1}]}} for n in ("a", "b", "c")]}]}]}
    status, _, raw = post(rec, "/v1/metrics", json.dumps(doc).encode(),
                          {"Content-Type": "application/json"})
    assert status == 200
    reply = json.loads(raw)["partialSuccess"]
    assert int(reply["rejectedDataPoints"]) == 2
    assert "max_metric_names_per_service" in reply["errorMessage"]


def test_spans_partial_success_and_bad_ids(make_receiver: Make, metrics: Metrics) -> None:
    rec = make_receiver()
    req = spans((TRACE, b"\x01" * 8, b"", 5, 1), (TRACE, b"\x02" * 8, b"", 1, 5))
    ps = _partial(rec, "/v1/traces", req.SerializeToString())
    assert ps.rejected_spans == 1 and "'s0'" in ps.error_message
    assert len(rec.trace_store.trace(TRACE.hex())) == 1

    bad = spans((TRACE, b"\x03" * 8, b"", 1, 2), (b"\x01" * 3, b"\x04" * 8, b"", 1, 2))
    status, _, raw = post(rec, "/v1/traces", bad.SerializeToString(), {"Content-Type": PB})
    assert status == 400
    assert "trace id of 3 bytes" in Status.FromString(raw).message
    assert len(rec.trace_store.trace(TRACE.hex())) == 1  # nothing of the bad request kept
    assert rejected(metrics, "traces", "invalid_id") == 1
    assert rejected(metrics, "traces", "end_before_start") == 1
    assert {(s, dict(labels)["code"]) for labels, s in
            metrics.current_series("telemetry_otlp_requests_total")} >= {(1.0, "400")}


def test_cut_attributes_are_named_in_partial_success_with_nothing_rejected(
        make_receiver: Make, metrics: Metrics) -> None:
    """Items kept but cut by the attribute limits: the reply says so (OTLP lets a
    ``partial_success`` with 0 rejected carry a warning), naming the limit and attribute."""
    rec = make_receiver(limits=IngestLimitsConfig(max_attributes=2,
                                                  max_attribute_value_length=32))
    body = gauges([("wide.point", {"a": "1", "b": "2", "c": "3"}),
                   ("long.value", {"clip": "x" * 100})]).SerializeToString()
    ps = _partial(rec, "/v1/metrics", body)
    assert ps.rejected_data_points == 0
    assert "lost attributes (over telemetry.ingest.limits.max_attributes)" in ps.error_message
    assert "of metric 'wide_point'" in ps.error_message
    assert ("had a value truncated (over telemetry.ingest.limits.max_attribute_value_length)"
            ", e.g. attribute 'clip'") in ps.error_message

    req = spans((TRACE, b"\x01" * 8, b"", 1, 2), (TRACE, b"\x02" * 8, b"", 5, 1))
    span = req.resource_spans[0].scope_spans[0].spans[0]
    for key in "abc":
        span.attributes.add(key=key).value.string_value = "v"
    _, _, raw = post(rec, "/v1/traces", req.SerializeToString(), {"Content-Type": PB})
    ps_t = ExportTraceServiceResponse.FromString(raw).partial_success
    assert ps_t.rejected_spans == 1  # the backwards span; the cut one is kept
    assert "end before they start" in ps_t.error_message
    assert "1 item lost attributes" in ps_t.error_message and "'c'" in ps_t.error_message

    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add()
    record.attributes.add(key="note").value.string_value = "y" * 100
    ps_l = _partial(rec, "/v1/logs", logs.SerializeToString())
    assert ps_l.rejected_log_records == 0
    assert "had a value truncated" in ps_l.error_message and "'note'" in ps_l.error_message


def test_a_request_within_the_limits_gets_an_empty_reply(make_receiver: Make) -> None:
    rec = make_receiver()
    body = gauges([("fine", {"a": "1"})]).SerializeToString()
    status, _, raw = post(rec, "/v1/metrics", body, {"Content-Type": PB})
    assert status == 200
    assert not ExportMetricsServiceResponse.FromString(raw).HasField("partial_success")

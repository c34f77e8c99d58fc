"""OTLP/HTTP protocol details: content types, encodings, chunked bodies, error bodies."""

from __future__ import annotations

import gzip
import http.client
import json
import zlib
from collections.abc import Callable

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from timeline_telemetry.ingest import OtlpReceiver, rpc_status_bytes
from timeline_telemetry.metrics import Metrics

Make = Callable[..., OtlpReceiver]
PB = "application/x-protobuf"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def post(rec: OtlpReceiver, path: str, body: bytes | list[bytes], headers: dict[str, str]
         ) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", rec.bound_port, timeout=10)
    try:
        if isinstance(body, list):  # sent with Transfer-Encoding: chunked, no Content-Length
            conn.request("POST", path, body=iter(body), headers=headers, encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def trace_request(name: str = "op", n: int = 1) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "editor"
    ss = rs.scope_spans.add()
    for i in range(n):
        s = ss.spans.add()
        s.trace_id = bytes.fromhex(TRACE_ID)
        s.span_id = (i + 1).to_bytes(8, "big")
        s.name = name
        s.start_time_unix_nano, s.end_time_unix_nano = 1_000_000_000, 3_000_000_000
    return req


def status_of(body: bytes) -> Status:
    return Status.FromString(body)


def test_chunked_gzip_protobuf_like_node_sends(make_receiver: Make) -> None:
    rec = make_receiver()
    data = gzip.compress(trace_request("chunked", 3).SerializeToString())
    parts = [data[i:i + 7] for i in range(0, len(data), 7)]
    status, ctype, body = post(rec, "/v1/traces", parts,
                               {"Content-Type": PB, "Content-Encoding": "gzip"})
    assert (status, ctype) == (200, PB)
    ExportTraceServiceResponse.FromString(body)
    assert [s.name for s in rec.trace_store.trace(TRACE_ID)] == ["chunked"] * 3


def test_otlp_json_with_hex_ids_and_string_integers(make_receiver: Make) -> None:
    rec = make_receiver()
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "editor"}}]},
        "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
            "traceId": TRACE_ID, "spanId": SPAN_ID, "name": "json_span", "kind": 2,
            "startTimeUnixNano": "1000000000", "endTimeUnixNano": "41000000000",
            "attributes": [{"key": "n", "value": {"intValue": "3"}}],
            "status": {"code": 2, "message": "boom"},
            "someFutureField": True}]}]}]}
    status, ctype, body = post(rec, "/v1/traces", json.dumps(doc).encode(),
                               {"Content-Type": "application/json; charset=utf-8"})
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {}
    (span,) = rec.trace_store.find(min_duration_s=30)
    assert (span.name, span.span_id, span.error, span.status_message, span.kind) == (
        "json_span", SPAN_ID, True, "boom", 2)
    assert span.attributes == (("n", "3"),)


def test_json_metrics_with_partial_success(make_receiver: Make, metrics: Metrics) -> None:
    rec = make_receiver()
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "cache.hits", "sum": {"isMonotonic": True, "aggregationTemporality": 2,
                                       "dataPoints": [{"asInt": "42"}]}},
        {"name": "system_cpu_usage_percent", "gauge": {"dataPoints": [{"asDouble": 99}]}},
        {"name": "latency", "summary": {"dataPoints": [{"count": "1", "sum": 2}]}}]}]}]}
    status, _, body = post(rec, "/v1/metrics", json.dumps(doc).encode(),
                           {"Content-Type": "application/json"})
    assert status == 200
    resp = json.loads(body)
    assert resp["partialSuccess"]["rejectedDataPoints"] == "2"
    assert "monitor's own metrics" in resp["partialSuccess"]["errorMessage"]
    assert "summary" in resp["partialSuccess"]["errorMessage"]
    fam = metrics.snapshot().family("cache_hits_total")
    assert fam is not None and fam.series[0].value == 42.0
    assert metrics.snapshot().family("system_cpu_usage_percent") is None


@pytest.mark.parametrize(("headers", "body", "status", "needle"), [
    ({"Content-Type": PB}, b"\xff\xff\xff garbage", 400, "not a protobuf"),
    ({"Content-Type": "application/json"}, b"{not json", 400, "not an OTLP/JSON"),
    ({"Content-Type": "application/json"}, b'{"resourceSpans": 3}', 400, "not an OTLP/JSON"),
    ({"Content-Type": "text/plain"}, b"hello", 415, "unsupported Content-Type 'text/plain'"),
    ({}, b"x", 415, "unsupported Content-Type 'none'"),
    ({"Content-Type": PB, "Content-Encoding": "br"}, b"x", 415, "Content-Encoding"),
    ({"Content-Type": PB, "Content-Encoding": "gzip"}, b"not gzip", 400, "not valid gzip"),
    ({"Content-Type": PB, "Content-Encoding": "gzip"},
     gzip.compress(b"\x0a\x00" * 100)[:20], 400, "truncated"),
])
def test_bad_requests_get_an_otlp_status(
    make_receiver: Make, metrics: Metrics, headers: dict[str, str], body: bytes, status: int,
    needle: str,
) -> None:
    rec = make_receiver()
    got, ctype, reply = post(rec, "/v1/traces", body, headers)
    assert got == status
    if headers.get("Content-Type") == "application/json":
        assert ctype == "application/json" and needle in json.loads(reply)["message"]
    else:
        assert ctype == PB
        assert needle in status_of(reply).message
        assert status_of(reply).code in (3, 8)
    fam = metrics.snapshot().family("telemetry_otlp_requests_total")
    assert fam is not None
    assert dict(fam.series[0].labels) == {"code": str(status), "signal": "traces"}


def test_too_large_bodies_get_413(make_receiver: Make) -> None:
    rec = make_receiver(max_body_bytes=64 * 1024)
    big = trace_request("x" * 1000, 100).SerializeToString()
    assert len(big) > 64 * 1024
    status, ctype, reply = post(rec, "/v1/traces", big, {"Content-Type": PB})
    assert (status, ctype) == (413, PB)
    assert "larger than 65536 bytes" in status_of(reply).message
    # Chunked, with no Content-Length: cut off while reading.
    status, _, reply = post(rec, "/v1/traces", [big[i:i + 4096] for i in range(0, len(big), 4096)],
                            {"Content-Type": PB})
    assert status == 413 and "larger than" in status_of(reply).message
    assert rec.trace_store.span_count == 0


def test_a_gzip_bomb_is_cut_off_at_the_limit(make_receiver: Make) -> None:
    rec = make_receiver(max_body_bytes=1024 * 1024)
    bomb = gzip.compress(b"\x00" * (200 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024  # passes the raw limit, ~200 MiB inflated
    status, _, reply = post(rec, "/v1/traces", bomb, {"Content-Type": PB,
                                                      "Content-Encoding": "gzip"})
    assert status == 413 and "gzip bomb" in status_of(reply).message
    # deflate too
    d = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    deflated = d.compress(b"\x00" * (50 * 1024 * 1024)) + d.flush()
    status, _, _ = post(rec, "/v1/metrics", deflated, {"Content-Type": PB,
                                                        "Content-Encoding": "deflate"})
    assert status == 413


def test_wrong_method_and_path(make_receiver: Make) -> None:
    rec = make_receiver()
    conn = http.client.HTTPConnection("127.0.0.1", rec.bound_port, timeout=5)
    try:
        conn.request("GET", "/v1/traces")
        resp = conn.getresponse()
        assert resp.status == 405 and resp.getheader("Allow") == "POST"
        resp.read()
        conn.request("POST", "/v1/profiles", body=b"", headers={"Content-Type": PB})
        resp = conn.getresponse()
        assert resp.status == 404
        resp.read()
    finally:
        conn.close()


def test_empty_protobuf_requests_are_fine(make_receiver: Make) -> None:
    rec = make_receiver()
    for path in ("/v1/traces", "/v1/metrics", "/v1/logs"):
        status, ctype, body = post(rec, path, b"", {"Content-Type": PB})
        assert (status, ctype) == (200, PB)
    ExportMetricsServiceResponse.FromString(body)
    assert ExportMetricsServiceRequest().SerializeToString() == b""


def test_rpc_status_encoding_matches_the_official_class() -> None:
    text = "é" * 100
    assert Status.FromString(rpc_status_bytes(8, text)) == Status(code=8, message=text)
    assert rpc_status_bytes(3, "x") == Status(code=3, message="x").SerializeToString()

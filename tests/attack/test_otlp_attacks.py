"""An OTLP corpus against a running agent (in-process ``AgentRuntime``, 127.0.0.1, port 0).

Groups: a gzip bomb, a 10 MB attribute value, 100k attributes, 20k distinct metric names
quickly, bad trace and span ids, spans ending before they start, OTLP/JSON with wrong types.
After each group the receiver still answers a valid request and /metrics answers within 1 s;
no response is a 5xx and nothing is logged with a traceback. Bounded: a few hundred requests,
well under a minute in all.
"""

from __future__ import annotations

import gzip
import http.client
import json
import time
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from attack_support import watched_runtime
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from timeline_telemetry.export.prometheus import PrometheusExporter
from timeline_telemetry.health import HealthStatus
from timeline_telemetry.runtime import AgentRuntime

PB = "application/x-protobuf"
JSON = "application/json"
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
MAX_BODY = 16 * 1024 * 1024


class Agent:
    """The running runtime, its receiver address and /metrics URL, and what went wrong."""

    def __init__(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        receiver = runtime.manager.receiver
        assert receiver is not None
        self.receiver = receiver
        self.port = receiver.bound_port
        prom = next(e for e in runtime.manager.exporters if isinstance(e, PrometheusExporter))
        self.metrics_url = prom.url
        self.statuses: list[int] = []

    def post(self, path: str, body: bytes, *, ctype: str = PB, encoding: str = ""
             ) -> tuple[int, bytes]:
        headers = {"Content-Type": ctype}
        if encoding:
            headers["Content-Encoding"] = encoding
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            out = resp.status, resp.read()
        finally:
            conn.close()
        self.statuses.append(out[0])
        return out

    def alive(self) -> None:
        """A valid span is taken and /metrics answers within 1 s."""
        status, _ = self.post("/v1/traces", spans([(TRACE, b"\x01" * 8, b"", 1, 2)])
                              .SerializeToString())
        assert status == 200
        start = time.monotonic()
        with urllib.request.urlopen(self.metrics_url, timeout=1) as r:
            assert r.status == 200
            r.read()
        assert time.monotonic() - start < 1.0

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as r:
            return str(r.read().decode())


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    tmp = tmp_path_factory.mktemp("otlp-attacks")
    with watched_runtime(tmp, {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "200ms", "checks": []},
        "alerts": {"enabled": False},
    }) as (rt, _errors, _thread_errors):
        yield Agent(rt)


@pytest.fixture(autouse=True)
def after_each_group(agent: Agent) -> Iterator[None]:
    start = time.monotonic()
    yield
    agent.alive()
    assert not [s for s in agent.statuses if s >= 500]
    assert time.monotonic() - start < 30


# -- builders -----------------------------------------------------------------------------
def spans(specs: list[tuple[bytes, bytes, bytes, int, int]], *, attrs: int = 0,
          value: str = "") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "attacker"
    ss = rs.scope_spans.add()
    for i, (tid, sid, parent, start, end) in enumerate(specs):
        s = ss.spans.add(trace_id=tid, span_id=sid, parent_span_id=parent, name=f"s{i}")
        s.start_time_unix_nano, s.end_time_unix_nano = start, end
        for k in range(attrs):
            s.attributes.add(key=f"a{k}").value.int_value = k
        if value:
            s.attributes.add(key="huge").value.string_value = value
    return req


def gauge(names: list[str], *, labels: dict[str, str] | None = None, n_labels: int = 0,
          service: str = "attacker") -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = service
    sm = rm.scope_metrics.add()
    for name in names:
        m = sm.metrics.add(name=name)
        dp = m.gauge.data_points.add(as_double=1.0)
        for k, v in (labels or {}).items():
            dp.attributes.add(key=k).value.string_value = v
        for k in range(n_labels):
            dp.attributes.add(key=f"l{k}").value.int_value = k
    return req


def status_message(body: bytes) -> str:
    return str(Status.FromString(body).message)


# -- the groups ---------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compression_bomb_is_refused_after_max_body_bytes(agent: Agent, encoding: str) -> None:
    raw = bytes(200 * 1024 * 1024)  # 200 MB of zeros: ~200 KB compressed
    body = gzip.compress(raw, 9) if encoding == "gzip" else zlib.compress(raw, 9)
    del raw
    assert len(body) < 1024 * 1024
    for path in ("/v1/metrics", "/v1/traces", "/v1/logs"):
        status, resp = agent.post(path, body, encoding=encoding)
        assert status == 413
        assert "larger than" in status_message(resp)


def test_ten_megabyte_attribute_value_is_truncated(agent: Agent) -> None:
    huge = "x" * (10 * 1024 * 1024)
    status, body = agent.post("/v1/metrics", gzip.compress(
        gauge(["big.label"], labels={"huge": huge}).SerializeToString()), encoding="gzip")
    assert status == 200
    assert not ExportMetricsServiceResponse.FromString(body).partial_success.rejected_data_points
    [(labels, _)] = agent.runtime.manager.metrics.current_series("big_label")
    assert len(dict(labels)["huge"]) == 4096

    status, _ = agent.post("/v1/traces", gzip.compress(
        spans([(TRACE, b"\x07" * 8, b"", 1, 2)], value=huge).SerializeToString()),
        encoding="gzip")
    assert status == 200
    [stored] = [s for s in agent.receiver.trace_store.trace(TRACE.hex()) if s.span_id == "07" * 8]
    assert len(dict(stored.attributes)["huge"]) == 4096

    logs = ExportLogsServiceRequest()
    rec = logs.resource_logs.add().scope_logs.add().log_records.add()
    rec.attributes.add(key="huge").value.string_value = huge
    status, body = agent.post("/v1/logs", gzip.compress(logs.SerializeToString()),
                              encoding="gzip")
    assert status == 200
    ExportLogsServiceResponse.FromString(body)
    assert len(agent.scrape()) < 5 * 1024 * 1024


def test_hundred_thousand_attributes_are_capped(agent: Agent) -> None:
    status, _ = agent.post("/v1/metrics", gauge(["wide.point"], n_labels=100_000)
                           .SerializeToString())
    assert status == 200
    [(labels, _)] = agent.runtime.manager.metrics.current_series("wide_point")
    assert len(labels) == 128 + 1  # 128 attributes and job
    status, _ = agent.post("/v1/traces", spans([(TRACE, b"\x08" * 8, b"", 1, 2)],
                                              attrs=100_000).SerializeToString())
    assert status == 200
    [stored] = [s for s in agent.receiver.trace_store.trace(TRACE.hex()) if s.span_id == "08" * 8]
    assert len(stored.attributes) == 128
    text = agent.scrape()
    assert 'telemetry_ingest_rejected_total{reason="attribute_count",signal="metrics"}' in text \
        or 'telemetry_ingest_rejected_total{signal="metrics",reason="attribute_count"}' in text


def test_twenty_thousand_metric_names_quickly(agent: Agent) -> None:
    metrics = agent.runtime.manager.metrics
    before = metrics.series_count()
    rejected = accepted = 0
    messages: list[str] = []
    for batch in range(20):
        names = [f"flood.b{batch}.m{i}" for i in range(1000)]
        status, body = agent.post("/v1/metrics", gauge(names, service="flooder")
                                  .SerializeToString())
        assert status == 200
        ps = ExportMetricsServiceResponse.FromString(body).partial_success
        rejected += ps.rejected_data_points
        accepted += 1000 - ps.rejected_data_points
        if ps.error_message:
            messages.append(ps.error_message)
    assert (accepted, rejected) == (1000, 19_000)
    assert "max_metric_names_per_service" in messages[-1] and "flood.b19" in messages[-1]
    assert metrics.series_count() - before <= 1000 + 50  # the flood's + the agent's own
    assert metrics.kind_of("flood_b19_m0") is None  # refused names create no instrument
    text = agent.scrape()
    assert len(text) < 5 * 1024 * 1024
    assert 'reason="metric_names"' in text
    health = agent.runtime.manager.health
    assert health is not None
    report = health.check_all(force=True)
    ingest = report.results["ingest"]
    assert ingest.status is HealthStatus.WARNING
    assert "metric_names" in ingest.message and "flooder" in ingest.message


@pytest.mark.parametrize(("tid", "sid", "parent"), [
    (b"\x01" * 3, b"\x01" * 8, b""),
    (b"\x01" * 50, b"\x01" * 8, b""),
    (b"", b"\x01" * 8, b""),
    (bytes(16), b"\x01" * 8, b""),
    (TRACE, b"\x01" * 4, b""),
    (TRACE, bytes(8), b""),
    (TRACE, b"\x01" * 8, b"\x01" * 9),
], ids=["trace3", "trace50", "trace0", "trace_zero", "span4", "span_zero", "parent9"])
def test_bad_ids_are_a_400(agent: Agent, tid: bytes, sid: bytes, parent: bytes) -> None:
    good = (TRACE, b"\x02" * 8, b"", 1, 2)
    status, body = agent.post("/v1/traces", spans([good, (tid, sid, parent, 1, 2)])
                              .SerializeToString())
    assert status == 400
    assert "invalid id" in status_message(body)


def test_bad_hex_ids_in_json_are_a_400(agent: Agent) -> None:
    for trace_id in ("abc", "00" * 16, "ab" * 25):
        doc = {"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": trace_id, "spanId": "0102030405060708", "name": "j"}]}]}]}
        status, body = agent.post("/v1/traces", json.dumps(doc).encode(), ctype=JSON)
        assert status == 400
        assert "message" in json.loads(body)


def test_spans_ending_before_they_start_are_refused(agent: Agent) -> None:
    req = spans([(TRACE, b"\x0a" * 8, b"", 50, 10), (TRACE, b"\x0b" * 8, b"", 10, 50)])
    status, body = agent.post("/v1/traces", req.SerializeToString())
    assert status == 200
    ps = ExportTraceServiceResponse.FromString(body).partial_success
    assert ps.rejected_spans == 1 and "before it starts" in ps.error_message
    ids = {s.span_id for s in agent.receiver.trace_store.trace(TRACE.hex())}
    assert "0b" * 8 in ids and "0a" * 8 not in ids


WRONG_JSON: list[Any] = [
    None, [], "text", 5, {"resourceSpans": "x"}, {"resourceSpans": [5]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": {"a": 1}}]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": 1}]}]}]}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "g", "gauge": {"dataPoints": [{"asDouble": "abc"}]}}]}]}]},
    {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "h", "histogram": {"dataPoints": [{"bucketCounts": [[1]]}]}}]}]}]},
    {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": "LOUD"}]}]}]},
    {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"kvlistValue": 3}}]}]}]},
]


def test_otlp_json_with_wrong_types_is_a_400(agent: Agent) -> None:
    for doc in WRONG_JSON:
        for path in ("/v1/traces", "/v1/metrics", "/v1/logs"):
            status, body = agent.post(path, json.dumps(doc).encode(), ctype=JSON)
            assert status in (200, 400), (path, doc)  # a valid-but-foreign object is empty
            if status == 400:
                assert json.loads(body)["message"]
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    nested = ('{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": '
              + '{"arrayValue": {"values": [' * 5000 + "{}" + "]}}" * 5000
              + "}]}]}]}").encode()
    for body in (deep, nested, b"{\"resourceSpans\": [", b"\xff\xfe"):
        status, _ = agent.post("/v1/logs", body, ctype=JSON)
        assert status == 400

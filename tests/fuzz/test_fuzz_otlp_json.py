"""Fuzzing the OTLP/JSON decoder, through the real receiver: whatever JSON an SDK (or a
buggy editor) POSTs, the answer is 200 (maybe with partial_success) or a 4xx naming the
problem, never a 5xx, and the receiver keeps serving."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import FUZZ, mutate
from hypothesis import given
from hypothesis import strategies as st

from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.metrics import Metrics

NOW = "1700000000000000000"
RES = {"attributes": [{"key": "service.name", "value": {"stringValue": "timeline-studio"}}]}
ATTRS = [{"key": "k", "value": {"stringValue": "v"}}, {"key": "n", "value": {"intValue": "3"}},
         {"key": "a", "value": {"arrayValue": {"values": [{"doubleValue": 1.5}]}}}]
SEEDS: dict[str, Any] = {
    "/v1/metrics": {"resourceMetrics": [{"resource": RES, "scopeMetrics": [{"metrics": [
        {"name": "frames_total", "unit": "1", "sum": {
            "aggregationTemporality": 2, "isMonotonic": True,
            "dataPoints": [{"asInt": "5", "timeUnixNano": NOW, "attributes": ATTRS}]}},
        {"name": "queue_size", "gauge": {"dataPoints": [{"asDouble": 2.5,
                                                         "timeUnixNano": NOW}]}},
        {"name": "render_ms", "histogram": {"aggregationTemporality": 2, "dataPoints": [
            {"count": "3", "sum": 12.0, "bucketCounts": ["1", "2", "0"],
             "explicitBounds": [1.0, 10.0], "timeUnixNano": NOW}]}},
    ]}]}]},
    "/v1/traces": {"resourceSpans": [{"resource": RES, "scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "parentSpanId": "", "name": "render", "kind": 1, "startTimeUnixNano": NOW,
         "endTimeUnixNano": "1700000000500000000", "attributes": ATTRS,
         "status": {"code": 2, "message": "encoder crashed"}}]}]}]},
    "/v1/logs": {"resourceLogs": [{"resource": RES, "scopeLogs": [{"logRecords": [
        {"timeUnixNano": NOW, "severityNumber": 17, "severityText": "ERROR",
         "body": {"stringValue": "NVENC error"}, "attributes": ATTRS}]}]}]},
}


def _keys(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        out.update(node)
        for v in node.values():
            _keys(v, out)
    elif isinstance(node, list):
        for v in node:
            _keys(v, out)
    return out


KEYS = sorted(_keys(SEEDS, set()))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "18446744073709551616", "1e309", "NaN", "Infinity",
                     "zz", "00" * 16, "ff" * 8, "5b8efff7", "AAAAAAAAAAAAAAAAAAAAAA=="]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                        max_size=4)),
    max_leaves=12,
)


def _mutate(node: Any, data: st.DataObject) -> Any:
    return mutate(node, data, keys=KEYS, json=JSON, scalars=SCALARS, max_depth=8)


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtlpReceiver]:
    del tmp_path_factory
    rx = OtlpReceiver(metrics=Metrics(), port=0)
    rx.start()
    yield rx
    rx.shutdown(5.0)


def _post(rx: OtlpReceiver, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", rx.bound_port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _check(status: int, reply: bytes) -> None:
    assert status == 200 or 400 <= status < 500, (status, reply[:300])
    doc = json.loads(reply) if reply else {}
    assert isinstance(doc, dict)
    if status != 200:
        assert doc.get("message"), reply[:300]  # a google.rpc.Status naming the problem


@FUZZ
@given(data=st.data())
def test_mutated_otlp_json_is_taken_or_refused_with_a_reason(
        receiver: OtlpReceiver, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(SEEDS)))
    tree = _mutate(SEEDS[path], data)
    _check(*_post(receiver, path, json.dumps(tree).encode()))


@FUZZ
@given(path=st.sampled_from(sorted(SEEDS)), tree=JSON)
def test_random_json_is_taken_or_refused_with_a_reason(
        receiver: OtlpReceiver, path: str, tree: Any) -> None:
    _check(*_post(receiver, path, json.dumps(tree).encode()))


def test_the_receiver_still_takes_a_valid_request_afterwards(receiver: OtlpReceiver,
                                                             tmp_path: Path) -> None:
    del tmp_path
    for path, seed in SEEDS.items():
        status, reply = _post(receiver, path, json.dumps(seed).encode())
        assert status == 200, reply[:300]

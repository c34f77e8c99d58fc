"""OTel -> Prometheus naming rules and histogram re-bucketing."""

from __future__ import annotations

import math

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from timeline_telemetry.ingest import labels_from_attributes, metric_name, prometheus_unit, rebucket
from timeline_telemetry.ingest.prom_names import sanitize_name


@pytest.mark.parametrize(("name", "unit", "kind", "expected"), [
    ("http.server.duration", "s", "histogram", "http_server_duration_seconds"),
    ("http.server.duration", "ms", "histogram", "http_server_duration_milliseconds"),
    ("process.memory.usage", "By", "gauge", "process_memory_usage_bytes"),
    ("requests", "{request}", "counter", "requests_total"),
    ("requests_total", "", "counter", "requests_total"),
    ("disk.io", "KiBy", "counter", "disk_io_kibibytes_total"),
    ("cpu.utilization", "1", "gauge", "cpu_utilization_ratio"),
    ("cpu.time", "1", "counter", "cpu_time_total"),
    ("speed", "m/s", "gauge", "speed_meters_per_second"),
    ("throughput", "By/s", "gauge", "throughput_bytes_per_second"),
    ("temperature", "Cel", "gauge", "temperature_celsius"),
    ("load", "%", "gauge", "load_percent"),
    ("latency_seconds", "s", "histogram", "latency_seconds"),
    ("2xx.responses", "", "counter", "_2xx_responses_total"),
    ("a..b--c", "", "gauge", "a_b_c"),
    ("ns:metric", "", "gauge", "ns:metric"),
])
def test_metric_names(name: str, unit: str, kind: str, expected: str) -> None:
    assert metric_name(name, unit, counter=kind == "counter", gauge=kind == "gauge") == expected


def test_units_and_sanitizing() -> None:
    assert prometheus_unit("{packet}/s", gauge=True) == "per_second"
    assert prometheus_unit("", gauge=True) == ""
    assert prometheus_unit("weird unit", gauge=False) == "weird_unit"
    assert sanitize_name("") == "_"


def kv(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))  # type: ignore[arg-type]


def test_labels_from_attributes() -> None:
    attrs = [
        kv("http.method", string_value="GET"),
        kv("http_method", string_value="POST"),  # same label after sanitizing: joined
        kv("ok", bool_value=True),
        kv("n", int_value=3),
        kv("x", double_value=0.5),
        kv("9lives", string_value="cat"),
        kv("list", array_value=ArrayValue(values=[AnyValue(string_value="a"),
                                                  AnyValue(int_value=1)])),
    ]
    assert labels_from_attributes(attrs) == {
        "http_method": "GET;POST", "ok": "true", "n": "3", "x": "0.5", "key_9lives": "cat",
        "list": '["a",1]'}
    assert labels_from_attributes(attrs, skip=frozenset({"ok"})).get("ok") is None


def test_rebucket_exact_and_lower_bound() -> None:
    inf = math.inf
    # same bounds: unchanged
    assert rebucket([1, 5], [2, 3, 4], [1, 5, inf]) == [2, 3, 4]
    # ours are a subset: merged exactly
    assert rebucket([1, 5, 10], [1, 1, 1, 1], [5, inf]) == [2, 2]
    # ours are finer: observations are placed at the next pushed bound (never too low)
    assert rebucket([10], [4, 1], [1, 5, 10, inf]) == [0, 0, 4, 1]
    # no finite pushed bounds: everything in +Inf
    assert rebucket([], [7], [1, 2, inf]) == [0, 0, 7]

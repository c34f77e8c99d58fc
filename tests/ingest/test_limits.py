"""``telemetry.ingest.limits`` without a server: the sink's name and series limits, attribute
caps (the OTel SDK's semantics), span id and duration checks, log limits, the rejection
counter and its rate-limited log line, the config section."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.config.schema import IngestLimitsConfig
from timeline_telemetry.ingest.attributes import cap_attributes
from timeline_telemetry.ingest.limits import IngestRejections
from timeline_telemetry.ingest.logs import apply_log_limits
from timeline_telemetry.ingest.metrics_sink import MetricsSink
from timeline_telemetry.ingest.spans import apply_span_limits, invalid_ids
from timeline_telemetry.metrics import Metrics

TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gauges(names_and_labels: list[tuple[str, dict[str, str]]], *, service: str = "editor",
           resource_extra: dict[str, str] | None = None) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in {"service.name": service, **(resource_extra or {})}.items():
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = k, v
    sm = rm.scope_metrics.add()
    for name, labels in names_and_labels:
        m = sm.metrics.add()
        m.name = name
        dp = m.gauge.data_points.add()
        dp.as_double = 1.0
        for k, v in labels.items():
            kv = dp.attributes.add()
            kv.key, kv.value.string_value = k, v
    return req


def make_sink(**limits: int) -> tuple[Metrics, MetricsSink, IngestRejections]:
    metrics = Metrics(max_series_per_metric=limits.get("max_series_per_metric", 2000))
    rej = IngestRejections(metrics, clock=Clock())
    return metrics, MetricsSink(metrics, limits=IngestLimitsConfig(**limits), rejections=rej), rej


def rejected(metrics: Metrics, signal: str, reason: str) -> float:
    return sum(v for labels, v in metrics.current_series("telemetry_ingest_rejected_total")
               if dict(labels) == {"signal": signal, "reason": reason})


# -- metrics ------------------------------------------------------------------------------
def test_metric_names_per_service_refused_before_any_instrument() -> None:
    metrics, sink, rej = make_sink(max_metric_names_per_service=3)
    out = sink.apply(gauges([(f"flood.m{i}", {}) for i in range(10)]))
    assert (out.accepted, out.rejected) == (3, 7)
    assert any("max_metric_names_per_service" in e and "flood.m3" in e for e in out.errors)
    assert [metrics.kind_of(f"flood_m{i}") is not None for i in range(5)] == [True] * 3 + [
        False] * 2
    assert rejected(metrics, "metrics", "metric_names") == 7
    # another service has its own allowance; a known name still takes new series
    assert sink.apply(gauges([("flood.m9", {})], service="other")).accepted == 1
    assert sink.apply(gauges([("flood.m0", {"k": "v"})])).accepted == 1
    assert rej.total("metrics", "metric_names") == 7


def test_series_per_metric_and_total_series() -> None:
    metrics, sink, _ = make_sink(max_series_per_metric=5, max_series=12)
    out = sink.apply(gauges([("req", {"path": f"/p{i}"}) for i in range(8)]))
    assert (out.accepted, out.rejected) == (5, 3)
    assert any("req" in e and "max_series_per_metric" in e for e in out.errors)
    assert len(metrics.current_series("req")) == 5
    # an existing series is always updated
    assert sink.apply(gauges([("req", {"path": "/p0"})])).accepted == 1
    # total: target_info (1) + 5 + 5 = 11, then one more, then refused
    out = sink.apply(gauges([("other", {"i": str(i)}) for i in range(5)]))
    assert (out.accepted, out.rejected) == (5, 0)
    out = sink.apply(gauges([("third", {"i": str(i)}) for i in range(3)]))
    assert (out.accepted, out.rejected) == (1, 2)
    assert any("12 series received in all" in e and "max_series)" in e for e in out.errors)
    assert sink.series_count == 12
    assert rejected(metrics, "metrics", "series_per_metric") == 3
    assert rejected(metrics, "metrics", "series") == 2


def test_series_not_updated_expire_and_free_their_place() -> None:
    """One label value per render for a long session: the old ones expire (5 min by
    default), so the limit refuses nothing that is still being sent."""
    metrics = Metrics()
    clock = Clock()
    sink = MetricsSink(metrics, limits=IngestLimitsConfig(max_series_per_metric=3),
                       clock=clock)
    assert sink.apply(gauges([("render.fps", {"render": "r1"}),
                              ("render.fps", {"render": "r2"})])).accepted == 2
    clock.now += 200
    assert sink.apply(gauges([("render.fps", {"render": "r2"}),
                              ("render.fps", {"render": "r3"})])).accepted == 2
    assert sink.apply(gauges([("render.fps", {"render": "r4"})])).rejected == 1  # full
    clock.now += 150  # r1 unseen for 350 s, r2 and r3 for 150 s
    out = sink.apply(gauges([("render.fps", {"render": "r4"}), ("render.fps", {"render": "r3"})]))
    assert (out.accepted, out.rejected) == (2, 0)
    assert sorted(dict(lb)["render"] for lb, _v in metrics.current_series("render_fps")) == [
        "r2", "r3", "r4"]
    clock.now += 400  # only r3 and r4 came back since; everything is older than 5 min now
    assert sink.expire() == 3
    assert metrics.current_series("render_fps") == []
    assert sink.series_count == 1  # target_info stays
    assert sink.apply(gauges([("render.fps", {"render": f"r{i}"}) for i in range(5, 8)]
                             )).accepted == 3


def test_flood_of_names_is_not_remembered() -> None:
    metrics, sink, _ = make_sink(max_metric_names_per_service=10, max_series=50)
    for batch in range(20):
        sink.apply(gauges([(f"n{batch}_{i}", {"v": str(i)}) for i in range(500)]))
    assert sink.series_count <= 50
    assert len(sink._names) <= 50
    assert sum(len(v) for v in sink._service_names.values()) <= 50
    assert metrics.series_count() < 100


def test_data_point_attributes_capped_before_labels() -> None:
    metrics, sink, _ = make_sink(max_attributes=4, max_attribute_value_length=16)
    labels = {f"k{i:03d}": "v" for i in range(100)}
    labels["k000"] = "x" * 10_000
    out = sink.apply(gauges([("wide", labels)]))
    assert out.accepted == 1
    [(series_labels, _)] = metrics.current_series("wide")
    got = dict(series_labels)
    assert got["k000"] == "x" * 16
    assert len(got) == 4 + 1  # four attributes kept, plus job
    assert rejected(metrics, "metrics", "attribute_count") == 1
    assert rejected(metrics, "metrics", "attribute_value_length") == 1


def test_resource_attributes_capped_and_target_info_bounded() -> None:
    metrics, sink, _ = make_sink(max_attributes=3, max_series_per_metric=2)
    extra = {f"r{i}": "y" * 5000 for i in range(10)}
    for inst in range(4):
        sink.apply(gauges([("g", {})], resource_extra={"service.instance.id": str(inst),
                                                      **extra}))
    infos = metrics.current_series("target_info")
    assert len(infos) == 2  # max_series_per_metric
    for labels, _ in infos:
        assert all(len(v) <= 4096 for _, v in labels)


# -- attributes ---------------------------------------------------------------------------
def test_cap_attributes_follows_the_sdk() -> None:
    attrs = ExportLogsServiceRequest().resource_logs.add().resource.attributes
    for i in range(5):
        attrs.add(key=f"k{i}", value=AnyValue(string_value="a" * 50))
    attrs.add(key="arr", value=AnyValue(array_value=ArrayValue(
        values=[AnyValue(string_value="b" * 50), AnyValue(int_value=10**12)])))
    attrs.add(key="n", value=AnyValue(int_value=123456789))
    cut = cap_attributes(attrs, max_count=6, max_length=20)
    assert (cut.dropped, cut.truncated, cut.key) == (1, 6, "n")
    assert [kv.key for kv in attrs] == ["k0", "k1", "k2", "k3", "k4", "arr"]
    assert attrs[0].value.string_value == "a" * 20
    assert attrs[5].value.array_value.values[0].string_value == "b" * 20
    assert attrs[5].value.array_value.values[1].int_value == 10**12
    assert not cap_attributes(attrs, max_count=6, max_length=20)


# -- spans --------------------------------------------------------------------------------
def spans(*specs: tuple[bytes, bytes, bytes, int, int]) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for i, (tid, sid, parent, start, end) in enumerate(specs):
        s = ss.spans.add(trace_id=tid, span_id=sid, parent_span_id=parent, name=f"s{i}")
        s.start_time_unix_nano, s.end_time_unix_nano = start, end
    return req


@pytest.mark.parametrize(("tid", "sid", "parent", "problem"), [
    (b"\x01" * 3, b"\x01" * 8, b"", "trace id of 3 bytes"),
    (b"\x01" * 50, b"\x01" * 8, b"", "trace id of 50 bytes"),
    (b"", b"\x01" * 8, b"", "trace id of 0 bytes"),
    (bytes(16), b"\x01" * 8, b"", "trace id all zero"),
    (TRACE, b"\x01" * 7, b"", "span id of 7 bytes"),
    (TRACE, bytes(8), b"", "span id all zero"),
    (TRACE, b"\x01" * 8, b"\x02" * 4, "parent span id of 4 bytes"),
])
def test_invalid_ids(tid: bytes, sid: bytes, parent: bytes, problem: str) -> None:
    good = (TRACE, b"\x09" * 8, b"", 1, 2)
    bad, message = invalid_ids(spans(good, (tid, sid, parent, 1, 2)))
    assert bad == 1
    assert problem in message and "'s1'" in message


def test_valid_ids_pass() -> None:
    assert invalid_ids(spans((TRACE, b"\x01" * 8, b"\x02" * 8, 1, 2),
                             (TRACE, b"\x03" * 8, b"", 1, 2))) == (0, "")


def test_spans_ending_before_they_start_are_removed_and_counted() -> None:
    metrics = Metrics()
    rej = IngestRejections(metrics, clock=Clock())
    req = spans((TRACE, b"\x01" * 8, b"", 10, 20), (TRACE, b"\x02" * 8, b"", 30, 5),
                (TRACE, b"\x03" * 8, b"", 7, 7))
    out = apply_span_limits(req, IngestLimitsConfig(), rej)
    assert out.rejected == 1
    assert "'s1'" in out.errors[0] and "25 ns before" in out.errors[0]
    assert [s.name for s in req.resource_spans[0].scope_spans[0].spans] == ["s0", "s2"]
    assert rejected(metrics, "traces", "end_before_start") == 1


def test_span_event_link_and_resource_attributes_capped() -> None:
    metrics = Metrics()
    rej = IngestRejections(metrics, clock=Clock())
    req = spans((TRACE, b"\x01" * 8, b"", 1, 2))
    rs = req.resource_spans[0]
    span = rs.scope_spans[0].spans[0]
    for i in range(300):
        span.attributes.add(key=f"a{i}", value=AnyValue(int_value=i))
        rs.resource.attributes.add(key=f"r{i}", value=AnyValue(bool_value=True))
    span.attributes[0].value.string_value = "z" * 10_000
    ev = span.events.add(name="e")
    ev.attributes.extend([KeyValue(key="big", value=AnyValue(bytes_value=b"\x00" * 9000))])
    link = span.links.add(trace_id=TRACE, span_id=b"\x05" * 8)
    for i in range(200):
        link.attributes.add(key=f"l{i}", value=AnyValue(int_value=i))
    apply_span_limits(req, IngestLimitsConfig(), rej)
    assert len(span.attributes) == 128 and span.dropped_attributes_count == 172
    assert span.attributes[0].value.string_value == "z" * 4096
    assert len(ev.attributes[0].value.bytes_value) == 4096
    assert len(link.attributes) == 128 and link.dropped_attributes_count == 72
    assert len(rs.resource.attributes) == 128 and rs.resource.dropped_attributes_count == 172
    assert rejected(metrics, "traces", "attribute_count") == 2  # the resource and the span
    assert rejected(metrics, "traces", "attribute_value_length") == 1


def test_log_record_attributes_capped() -> None:
    metrics = Metrics()
    rej = IngestRejections(metrics, clock=Clock())
    req = ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    for i in range(1000):
        rec.attributes.add(key=f"k{i}", value=AnyValue(string_value="v"))
    rec.attributes[1].value.string_value = "w" * 5000
    apply_log_limits(req, IngestLimitsConfig(max_attributes=10), rej)
    assert len(rec.attributes) == 10 and rec.dropped_attributes_count == 990
    assert len(rec.attributes[1].value.string_value) == 4096
    assert rejected(metrics, "logs", "attribute_count") == 1
    assert rejected(metrics, "logs", "attribute_value_length") == 1


# -- the counter, the log line, the hits ----------------------------------------------------
def test_log_line_at_most_once_a_minute_per_reason(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    metrics = Metrics()
    rej = IngestRejections(metrics, clock=clock)
    with caplog.at_level(logging.WARNING, logger="timeline_telemetry.ingest.limits"):
        for i in range(100):
            rej.record("metrics", "series", 2, f"metric 'm{i}' of service 'editor'")
            clock.now += 0.1
        rej.record("metrics", "metric_names", 1, "metric 'x' of service 'editor'")
        clock.now += 60
        rej.record("metrics", "series", 1, "metric 'last' of service 'editor'")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "telemetry.ingest.limits.max_series" in lines[0] and "'m0'" in lines[0]
    assert "max_metric_names_per_service" in lines[1]
    assert lines[2].startswith("OTLP metrics: 199 items refused") and "'last'" in lines[2]
    assert rejected(metrics, "metrics", "series") == 201


def test_hits_window() -> None:
    clock = Clock()
    rej = IngestRejections(Metrics(), clock=clock, window_s=300)
    rej.record("traces", "invalid_id", 3, "span 'x': trace id of 3 bytes (must be 16)")
    [hit] = rej.hits()
    assert (hit.signal, hit.reason, hit.total, hit.recent, hit.limit_key) == (
        "traces", "invalid_id", 3, 3, "")
    clock.now += 400
    [hit] = rej.hits()
    assert (hit.total, hit.recent, hit.seconds_ago) == (3, 0, 400)


# -- config -------------------------------------------------------------------------------
def test_config_section(tmp_path: Path) -> None:
    cfg = parse_config({"telemetry": {"ingest": {"limits": {
        "max_attributes": 64, "max_attribute_value_length": 1024,
        "max_metric_names_per_service": 50, "max_series_per_metric": 300,
        "max_series": 5000}}}}, source="t", base_dir=tmp_path)
    assert cfg.ingest.limits == IngestLimitsConfig(64, 1024, 50, 300, 5000)
    default = parse_config({"telemetry": {}}, source="t", base_dir=tmp_path)
    assert default.ingest.limits == IngestLimitsConfig(128, 4096, 1000, 2000, 10_000)


@pytest.mark.parametrize("bad", [{"max_series": 0}, {"max_attributes": "many"},
                                 {"max_attribute_value_length": 3}, {"unknown": 1}])
def test_config_section_refuses_bad_values(bad: dict[str, object], tmp_path: Path) -> None:
    from timeline_telemetry.config.errors import ConfigError

    with pytest.raises(ConfigError, match=r"ingest\.limits"):
        parse_config({"telemetry": {"ingest": {"limits": bad}}}, source="t", base_dir=tmp_path)


def test_huge_names_keys_and_descriptions_are_bounded() -> None:
    metrics, sink, _ = make_sink(max_attribute_value_length=64)
    req = gauges([("n" * 100_000, {}), ("ok", {"k" * 1000: "v"})])
    req.resource_metrics[0].scope_metrics[0].metrics[1].description = "d" * 10_000
    out = sink.apply(req)
    assert (out.accepted, out.rejected) == (1, 1)
    assert "max_attribute_value_length" in out.errors[0] and len(out.errors[0]) < 500
    [(labels, _)] = metrics.current_series("ok")
    assert dict(labels) == {"job": "editor", "k" * 64: "v"}
    [family] = [f for f in metrics.snapshot().families if f.spec.name == "ok"]
    assert len(family.spec.help) == 64
    assert rejected(metrics, "metrics", "name_length") == 1


def test_messages_about_huge_span_names_are_clipped() -> None:
    req = spans((b"\x01" * 3, b"\x01" * 8, b"", 1, 2))
    req.resource_spans[0].scope_spans[0].spans[0].name = "s" * 1_000_000
    bad, message = invalid_ids(req)
    assert bad == 1 and len(message) < 400

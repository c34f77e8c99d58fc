"""The compiled OTLP/JSON encoder writes exactly what json_format did, for every OTLP type.

The reference is the encoder the product used before: ``json_format.MessageToDict(msg,
use_integers_for_enums=True)``, trace/span ids turned from base64 into hex, then one compact
``json.dumps``. It lives here only. Cases: real SDK spans and metrics, hand-made logs and
metrics that hit every kind and edge value, a seeded random walk over every field of every
OTLP request/response type, and a made-up proto (maps, keyword names, proto2 presence,
well-known types, custom json names) for the generic parts.
"""

from __future__ import annotations

import base64
import json
import math
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    json_format,
    message_factory,
    timestamp_pb2,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
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
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as mpb

from timeline_telemetry.export import otlp_json_encode as encoder
from timeline_telemetry.export.otlp_json import snapshot_to_otlp_request, to_json_line
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing.jsonlines import message_from_json, message_to_json_line

_FD = FieldDescriptor
_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


# -- the reference: the old encoder -----------------------------------------------------
def _ids_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                node[k] = base64.b64decode(v).hex()
            else:
                _ids_to_hex(v)
    elif isinstance(node, list):
        for item in node:
            _ids_to_hex(item)


def old_line(msg: Message) -> str:
    data = json_format.MessageToDict(msg, use_integers_for_enums=True)
    _ids_to_hex(data)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def assert_same(msg: Message) -> str:
    """New == old (as JSON values, and as text), and the line parses back to ``msg``."""
    new, old = to_json_line(msg), old_line(msg)
    assert json.loads(new) == json.loads(old)  # NaN/Infinity are strings: == holds
    assert new == old  # same key order, same number formatting
    assert "\n" not in new
    back = message_from_json(json.loads(new), type(msg))
    assert back.SerializeToString(deterministic=True) == msg.SerializeToString(
        deterministic=True
    )
    return new


# -- real SDK data ----------------------------------------------------------------------
def sdk_spans_request() -> ExportTraceServiceRequest:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    exporter = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource({"service.name": "timeline-studio", "pid": 42,
                                           "ratio": 0.5, "debug": False}),
                        shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tp.get_tracer("bench", "1.2.3", schema_url="https://opentelemetry.io/schemas/1")
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER) as root:
        root.set_attribute("s", "h264 \"quoted\" \\ \n é 日本 🎬")
        root.set_attribute("i", -(2**63))
        root.set_attribute("u", 2**63 - 1)
        root.set_attribute("f", 0.1)
        root.set_attribute("neg_zero", -0.0)
        root.set_attribute("nan", math.nan)
        root.set_attribute("inf", -math.inf)
        root.set_attribute("b", True)
        root.set_attribute("empty", "")
        root.set_attribute("zero", 0)
        root.set_attribute("false", False)
        root.set_attribute("strs", ["a", "", "c"])
        root.set_attribute("ints", [1, 0, -3])
        root.set_attribute("floats", [1.5, 0.0, math.inf])
        root.set_attribute("bools", [True, False])
        root.add_event("encoding_start", {"frame": 3, "note": "x"})
        root.add_event("no_attributes")
        ctx = root.get_span_context()
        for i in range(3):
            with tracer.start_as_current_span(
                f"child{i}", kind=SpanKind(i % 5), links=[Link(ctx, {"why": "batch"})]
            ) as child:
                child.set_status(Status(StatusCode.ERROR, "boom") if i == 1
                                 else Status(StatusCode.OK))
                child.record_exception(ValueError("bad \x00 value"))
    with trace.use_span(tracer.start_span("unset_status"), end_on_exit=True):
        pass
    return ExportTraceServiceRequest.FromString(
        encode_spans(exporter.get_finished_spans()).SerializeToString()
    )


def sdk_metrics_request() -> ExportMetricsServiceRequest:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "x"}),
                       views=[View(instrument_name="exp_*",
                                   aggregation=ExponentialBucketHistogramAggregation()),
                              View(instrument_name="*")],
                       shutdown_on_exit=False)
    meter = mp.get_meter("m", "1.0")
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    counter = meter.create_counter("frames", unit="{frame}", description="Frames.")
    updown = meter.create_up_down_counter("queue")
    hist = meter.create_histogram("latency", unit="ms")
    exp = meter.create_histogram("exp_latency", unit="s")
    gauge = meter.create_gauge("temp", unit="Cel")
    with tracer.start_as_current_span("with_exemplars"):  # sampled: exemplars carry ids
        for v in (0, 1, 5, 5, 30, 3000):
            counter.add(v, {"codec": "h264"})
            hist.record(v, {"stage": "decode"})
            exp.record(v * 0.001, {"stage": "decode"})
        exp.record(-0.5)
        exp.record(0.0)
    updown.add(-7)
    updown.add(3, {"k": "v"})
    gauge.set(21.5)
    gauge.set(-1, {"where": "gpu"})
    hist.record(1.25)
    data = reader.get_metrics_data()
    assert data is not None
    return ExportMetricsServiceRequest.FromString(encode_metrics(data).SerializeToString())


def test_real_sdk_spans() -> None:
    req = sdk_spans_request()
    line = assert_same(req)
    span = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16  # hex, not base64
    assert isinstance(span["startTimeUnixNano"], str)


def test_real_sdk_metrics() -> None:
    req = sdk_metrics_request()
    line = assert_same(req)
    kinds = {m.WhichOneof("data") for m in req.resource_metrics[0].scope_metrics[0].metrics}
    assert kinds == {"sum", "histogram", "exponential_histogram", "gauge"}
    assert '"exemplars"' in line


def test_message_to_json_line_is_the_same_encoder() -> None:
    req = sdk_spans_request()
    assert message_to_json_line(req) == to_json_line(req) == old_line(req)


# -- hand-made edge cases ---------------------------------------------------------------
def kv(key: str, value: AnyValue | None) -> KeyValue:
    return KeyValue(key=key) if value is None else KeyValue(key=key, value=value)


def any_values() -> list[AnyValue]:
    nested = AnyValue(kvlist_value={"values": [
        kv("inner", AnyValue(array_value={"values": [AnyValue(int_value=1),
                                                     AnyValue(kvlist_value={})]})),
        kv("", AnyValue(bytes_value=b"\x00\xff")),
    ]})
    return [
        AnyValue(), AnyValue(string_value=""), AnyValue(string_value="a\"b\\c\u2028\x7f"),
        AnyValue(bool_value=False), AnyValue(bool_value=True), AnyValue(int_value=0),
        AnyValue(int_value=-1), AnyValue(int_value=2**63 - 1), AnyValue(double_value=0.0),
        AnyValue(double_value=-0.0), AnyValue(double_value=1e-320), AnyValue(double_value=1e16),
        AnyValue(double_value=math.nan), AnyValue(double_value=math.inf),
        AnyValue(double_value=-math.inf), AnyValue(bytes_value=b""),
        AnyValue(bytes_value=bytes(range(256))), AnyValue(array_value={}),
        AnyValue(array_value={"values": [AnyValue(), AnyValue(string_value="x")]}),
        AnyValue(kvlist_value={}), nested,
    ]


def test_every_any_value_kind_alone_and_as_attribute() -> None:
    for value in any_values():
        assert_same(ExportLogsServiceRequest(resource_logs=[{"scope_logs": [{"log_records": [
            {"body": value, "attributes": [kv("k", value), kv("", value), kv("unset", None)]},
        ]}]}]))


def test_key_value_fast_path_is_on_and_agrees_with_the_generated_code() -> None:
    assert encoder._key_value_fast_path_applies(KeyValue.DESCRIPTOR)
    fast = encoder._encoder(KeyValue.DESCRIPTOR)
    cases = [kv(key, v) for key in ("k", "", "é\"") for v in [*any_values(), None]]
    if "key_strindex" in KeyValue.DESCRIPTOR.fields_by_name:
        cases.append(KeyValue(key="k", value=AnyValue(string_value="v"), key_strindex=3))
    for case in cases:
        assert fast(case) == old_line(case)
    assert not encoder._key_value_fast_path_applies(AnyValue.DESCRIPTOR)


def logs_request() -> ExportLogsServiceRequest:
    trace_id, span_id = bytes(range(1, 17)), bytes(range(17, 25))
    return ExportLogsServiceRequest(resource_logs=[{
        "resource": {"attributes": [kv("service.name", AnyValue(string_value="editor"))],
                     "dropped_attributes_count": 2},
        "schema_url": "https://example/schema",
        "scope_logs": [{
            "scope": {"name": "logger", "version": "1"},
            "log_records": [
                {"time_unix_nano": 1_700_000_000_123_456_789, "observed_time_unix_nano": 1,
                 "severity_number": 17, "severity_text": "ERROR",
                 "body": AnyValue(string_value="disk full"), "trace_id": trace_id,
                 "span_id": span_id, "flags": 1, "dropped_attributes_count": 1},
                {"severity_number": 0, "body": AnyValue(kvlist_value={"values": [
                    kv("a", AnyValue(double_value=0.5))]})},
                {"body": AnyValue()},  # set but empty: still written
                {},
            ],
        }, {"scope": {}}],
    }])


def test_logs() -> None:
    line = assert_same(logs_request())
    record = json.loads(line)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert record["traceId"] == bytes(range(1, 17)).hex()
    assert record["timeUnixNano"] == "1700000000123456789"
    assert record["severityNumber"] == 17


def metrics_request() -> ExportMetricsServiceRequest:
    ex = [mpb.Exemplar(time_unix_nano=5, as_double=0.0, trace_id=b"\x01" * 16,
                       span_id=b"\x02" * 8, filtered_attributes=[kv("a", AnyValue(int_value=1))]),
          mpb.Exemplar(as_int=0), mpb.Exemplar(as_int=-3), mpb.Exemplar()]
    attrs = [kv("host", AnyValue(string_value="ws1"))]
    metrics = [
        mpb.Metric(name="g", gauge={"data_points": [
            {"as_double": v, "time_unix_nano": 9, "attributes": attrs}
            for v in (0.0, -0.0, 1.5, math.nan, math.inf, -math.inf, 2.5e-308)]
            + [{"as_int": v} for v in (0, -(2**63), 2**63 - 1)] + [{}, {"flags": 1}]}),
        mpb.Metric(name="s", unit="By", description="d", sum={
            "aggregation_temporality": 2, "is_monotonic": True,
            "data_points": [{"as_int": 3, "exemplars": ex, "start_time_unix_nano": 1}]}),
        mpb.Metric(name="s0", sum={}),
        mpb.Metric(name="h", histogram={"aggregation_temporality": 1, "data_points": [
            {"count": 4, "sum": 10.5, "bucket_counts": [1, 0, 3],
             "explicit_bounds": [0.0, 2.5], "min": 0.0, "max": 9.0, "exemplars": ex},
            {"count": 0, "sum": 0.0},  # optional sum set to 0: present
            {"count": 1, "bucket_counts": [1], "explicit_bounds": [math.inf, -0.0, math.nan]},
            {}]}),
        mpb.Metric(name="e", exponential_histogram={"data_points": [
            {"count": 6, "sum": -1.0, "scale": -3, "zero_count": 1, "zero_threshold": 1e-9,
             "positive": {"offset": -2, "bucket_counts": [1, 0, 2**64 - 1]},
             "negative": {}, "min": -0.0, "max": math.inf, "flags": 1},
            {"scale": 20, "positive": {"offset": 5}},
            {"zero_threshold": -0.0}]}),
        mpb.Metric(name="sum", summary={"data_points": [
            {"count": 3, "sum": 1.5, "quantile_values": [
                {"quantile": 0.0, "value": -0.0}, {"quantile": 0.5, "value": math.nan},
                {"quantile": 1.0, "value": 7.0}, {}]},
            {"sum": -0.0}]}),
        mpb.Metric(),
    ]
    return ExportMetricsServiceRequest(resource_metrics=[
        {"resource": {}, "scope_metrics": [{"scope": {"name": "x"}, "metrics": metrics}]},
        {},
    ])


def test_metrics_of_every_kind_and_edge_value() -> None:
    line = assert_same(metrics_request())
    points = json.loads(line)["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    gauge = points[0]["gauge"]["dataPoints"]
    assert [p.get("asDouble") for p in gauge[:6]] == [0.0, -0.0, 1.5, "NaN", "Infinity",
                                                       "-Infinity"]
    assert "asDouble" in gauge[0]  # oneof member set to its default is written
    assert gauge[7]["asInt"] == "0" and gauge[8]["asInt"] == "-9223372036854775808"
    hist = points[3]["histogram"]["dataPoints"]
    assert hist[1]["sum"] == 0.0 and "min" not in hist[1]
    assert hist[2]["explicitBounds"] == ["Infinity", -0.0, "NaN"]
    assert hist[0]["bucketCounts"] == ["1", "0", "3"]


def test_the_agents_own_snapshot_request() -> None:
    m = Metrics(clock=lambda: 1_700_000_010.5)
    m.increment_counter("frames_processed_total", 12, {"codec": "h264"})
    m.set_gauge("system_swap_total_bytes", 5e9)
    for v in (3, 30, 30, 3000):
        m.record_histogram("frame_processing_duration_ms", v, {"stage": "decode"})
    m.record_summary("chunk_seconds", 0.25)
    assert_same(snapshot_to_otlp_request(m.snapshot(), resource={"service.name": "s"},
                                         start_time=1_700_000_000.0))


def test_empty_messages_and_responses() -> None:
    for t in (ExportTraceServiceRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest,
              ExportTraceServiceResponse, ExportLogsServiceResponse,
              ExportMetricsServiceResponse):
        assert assert_same(t()) == "{}"
    assert_same(ExportTraceServiceResponse(partial_success={}))
    assert_same(ExportTraceServiceResponse(partial_success={"rejected_spans": 3,
                                                            "error_message": "x"}))


# -- seeded random messages over every field ---------------------------------------------
_STRINGS = ["", "a", "video_render", 'quo"te', "back\\slash", "new\nline\ttab",
            "\x00\x01\x1f ctl", "é ü 日本", "emoji 🎬", "\u2028\u2029", "</script>", "%d %s"]
_FLOATS = [0.0, -0.0, 0.1, 1.5, -2.25e-300, 1e308, 1e16, 5e-324, math.nan, math.inf,
           -math.inf, 123456789.125]


_DEPTH = 7  # ExportMetricsServiceRequest -> ... -> Exemplar -> KeyValue -> AnyValue


def _scalar(field: FieldDescriptor, rng: random.Random) -> Any:
    t = field.type
    if t in (_FD.TYPE_DOUBLE, _FD.TYPE_FLOAT):
        return rng.choice([*_FLOATS, rng.uniform(-1e6, 1e6)])
    if t == _FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == _FD.TYPE_STRING:
        if rng.random() < 0.2:
            return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0xD800),
                                           rng.randrange(0x10000, 0x10FFFF)]))
                           for _ in range(rng.randrange(1, 12)))
        return rng.choice(_STRINGS)
    if t == _FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 8, 16, 5])))
    if t == _FD.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        if not field.enum_type.is_closed:
            numbers.append(99)  # an open enum keeps unknown numbers
        return rng.choice(numbers)
    signed = t in (_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32, _FD.TYPE_INT64,
                   _FD.TYPE_SINT64, _FD.TYPE_SFIXED64)
    bits = 64 if field.cpp_type in (_FD.CPPTYPE_INT64, _FD.CPPTYPE_UINT64) else 32
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return rng.choice([0, 1, lo, hi, rng.randint(lo, hi), 1_700_000_000_000_000_000 % hi])


def _is_real_oneof(field: FieldDescriptor) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) > 1


def fill(msg: Message, rng: random.Random, depth: int = 0, max_depth: int = _DEPTH) -> Message:
    """Set a random selection of ``msg``'s fields (any type, recursively) to random values,
    edge values and defaults included."""
    desc: Descriptor = msg.DESCRIPTOR
    if desc.full_name == "google.protobuf.Timestamp":
        msg.seconds = rng.randrange(0, 2**33)  # type: ignore[attr-defined]
        msg.nanos = rng.choice([0, 1000, 999_999_999])  # type: ignore[attr-defined]
        return msg
    oneofs_seen: set[str] = set()
    for declared in desc.fields:
        field = declared
        if _is_real_oneof(declared):
            oneof = declared.containing_oneof
            assert oneof is not None
            if oneof.name in oneofs_seen:
                continue
            oneofs_seen.add(oneof.name)
            if rng.random() < 0.2:
                continue
            field = rng.choice(list(oneof.fields))  # one member, maybe set to its default
        elif rng.random() < (0.1 if depth < 3 else 0.4):
            continue
        _set(msg, field, rng, depth, max_depth)
    return msg


def _set(msg: Message, field: FieldDescriptor, rng: random.Random, depth: int,
         max_depth: int) -> None:
    name = field.name
    mt = field.message_type
    if mt is not None and mt.GetOptions().map_entry:
        container = getattr(msg, name)
        key_f, value_f = mt.fields_by_name["key"], mt.fields_by_name["value"]
        for _ in range(rng.randrange(0, 3)):
            key = _scalar(key_f, rng)
            if value_f.message_type is not None:
                if depth < max_depth:
                    fill(container[key], rng, depth + 1, max_depth)
            else:
                container[key] = _scalar(value_f, rng)
        return
    if field.is_repeated:
        container = getattr(msg, name)
        counts = [1, 1, 2, 3] if depth < 3 else [0, 1, 1, 2] if depth < 5 else [0, 1]
        for _ in range(rng.choice(counts)):
            if mt is not None:
                child = container.add()
                if depth < max_depth:
                    fill(child, rng, depth + 1, max_depth)
            else:
                container.append(_scalar(field, rng))
        return
    if mt is not None:
        child = getattr(msg, name)
        child.SetInParent()  # present even when left empty
        if depth < max_depth:
            fill(child, rng, depth + 1, max_depth)
        return
    setattr(msg, name, _scalar(field, rng))


OTLP_TYPES = [ExportTraceServiceRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest,
              ExportTraceServiceResponse, ExportLogsServiceResponse,
              ExportMetricsServiceResponse]


@pytest.mark.parametrize("message_type", OTLP_TYPES, ids=lambda t: t.__name__)
def test_random_otlp_messages(message_type: type[Message]) -> None:
    rng = random.Random(f"otlp-json-{message_type.__name__}")
    keys: set[str] = set()
    for _ in range(150):
        line = assert_same(fill(message_type(), rng))
        keys |= set(_keys(json.loads(line)))
    # The walk reached deep into the types, e.g. for traces: span links and nested values.
    expected = {
        "ExportTraceServiceRequest": {"links", "kvlistValue", "arrayValue", "bytesValue",
                                      "parentSpanId", "status", "droppedLinksCount"},
        "ExportLogsServiceRequest": {"body", "severityNumber", "observedTimeUnixNano", "traceId"},
        "ExportMetricsServiceRequest": {"exponentialHistogram", "summary", "exemplars", "min",
                                        "quantileValues", "negative", "asInt", "bucketCounts"},
    }.get(message_type.__name__, {"partialSuccess"})
    assert expected <= keys


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keys(v)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


# -- the generic parts, on a made-up proto ------------------------------------------------
def _field(name: str, number: int, ftype: int, *, label: int = 1, type_name: str = "",
           **extra: Any) -> descriptor_pb2.FieldDescriptorProto:
    if type_name:
        extra["type_name"] = type_name
    return descriptor_pb2.FieldDescriptorProto(name=name, number=number, type=ftype,  # type: ignore[arg-type]
                                               label=label, **extra)  # type: ignore[arg-type]


def kitchen_types() -> tuple[type[Message], type[Message]]:
    """A fresh pool with ``t.Kitchen`` (proto3: every scalar type, repeated ones, maps,
    recursion, oneofs, ``optional``, keyword names, a Timestamp) and ``t.Legacy`` (proto2)."""
    T = descriptor_pb2.FieldDescriptorProto
    rep = T.LABEL_REPEATED
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    p2 = descriptor_pb2.FileDescriptorProto(name="legacy.proto", package="t", syntax="proto2")
    p2.enum_type.add(name="Shade").value.extend(
        [descriptor_pb2.EnumValueDescriptorProto(name=n, number=i + 1)
         for i, n in enumerate(["LIGHT", "DARK"])])
    legacy = p2.message_type.add(name="Legacy")
    legacy.field.extend([
        _field("a", 1, T.TYPE_INT32, default_value="7"),
        _field("b", 2, T.TYPE_STRING, default_value="x"),
        _field("c", 3, T.TYPE_DOUBLE),
        _field("shade", 4, T.TYPE_ENUM, type_name=".t.Shade"),
        _field("packed", 5, T.TYPE_INT64, label=rep),
        _field("inner", 6, T.TYPE_MESSAGE, type_name=".t.Legacy"),
        _field("ext", 7, T.TYPE_MESSAGE, type_name=".t.Extendable"),
    ])
    ext = p2.message_type.add(name="Extendable")
    ext.field.append(_field("n", 1, T.TYPE_INT64))
    ext.extension_range.add(start=100, end=200)
    pool.Add(p2)
    f = descriptor_pb2.FileDescriptorProto(name="kitchen.proto", package="t", syntax="proto3",
                                           dependency=["google/protobuf/timestamp.proto",
                                                       "legacy.proto"])
    f.enum_type.add(name="Color").value.extend(
        [descriptor_pb2.EnumValueDescriptorProto(name=n, number=i)
         for i, n in enumerate(["NONE", "RED", "BLUE"])])
    k = f.message_type.add(name="Kitchen")
    scalars = [T.TYPE_DOUBLE, T.TYPE_FLOAT, T.TYPE_INT32, T.TYPE_INT64, T.TYPE_UINT32,
               T.TYPE_UINT64, T.TYPE_SINT32, T.TYPE_SINT64, T.TYPE_FIXED32, T.TYPE_FIXED64,
               T.TYPE_SFIXED32, T.TYPE_SFIXED64, T.TYPE_BOOL, T.TYPE_STRING, T.TYPE_BYTES]
    for i, t in enumerate(scalars):
        k.field.append(_field(f"f{i}", i + 1, t))
        k.field.append(_field(f"r{i}", i + 101, t, label=rep))
    k.field.extend([
        _field("color", 20, T.TYPE_ENUM, type_name=".t.Color"),
        _field("colors", 21, T.TYPE_ENUM, label=rep, type_name=".t.Color"),
        _field("child", 22, T.TYPE_MESSAGE, type_name=".t.Kitchen"),
        _field("children", 23, T.TYPE_MESSAGE, label=rep, type_name=".t.Kitchen"),
        _field("when", 24, T.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp"),
        _field("whens", 25, T.TYPE_MESSAGE, label=rep, type_name=".google.protobuf.Timestamp"),
        _field("from", 26, T.TYPE_STRING),
        _field("class", 27, T.TYPE_INT64, label=rep),
        _field("trace_id", 28, T.TYPE_BYTES),
        _field("span_id", 29, T.TYPE_BYTES, label=rep),
        _field("renamed", 30, T.TYPE_STRING, json_name="customJson"),
        _field("legacy", 31, T.TYPE_MESSAGE, type_name=".t.Legacy"),
        _field("o_double", 32, T.TYPE_DOUBLE, oneof_index=2, proto3_optional=True),
        _field("c_string", 40, T.TYPE_STRING, oneof_index=0),
        _field("c_int", 41, T.TYPE_SINT64, oneof_index=0),
        _field("c_child", 42, T.TYPE_MESSAGE, oneof_index=0, type_name=".t.Kitchen"),
        _field("c_bytes", 43, T.TYPE_BYTES, oneof_index=0),
        _field("c_when", 44, T.TYPE_MESSAGE, oneof_index=0,
               type_name=".google.protobuf.Timestamp"),
        _field("s_a", 50, T.TYPE_DOUBLE, oneof_index=1),
        _field("between", 51, T.TYPE_STRING),
        _field("s_b", 52, T.TYPE_BOOL, oneof_index=1),
        _field("s_c", 53, T.TYPE_MESSAGE, oneof_index=1, type_name=".t.Legacy"),
    ])
    k.oneof_decl.extend([descriptor_pb2.OneofDescriptorProto(name=n)
                         for n in ("choice", "split", "_o_double")])  # synthetic last
    maps = [("str_map", 60, T.TYPE_STRING, T.TYPE_INT64, ""),
            ("bool_map", 61, T.TYPE_BOOL, T.TYPE_MESSAGE, ".t.Kitchen"),
            ("int_map", 62, T.TYPE_INT32, T.TYPE_DOUBLE, ""),
            ("u64_map", 63, T.TYPE_UINT64, T.TYPE_BYTES, ""),
            ("enum_map", 64, T.TYPE_STRING, T.TYPE_ENUM, ".t.Color")]
    for name, number, key_type, value_type, value_type_name in maps:
        entry = k.nested_type.add(name=name.title().replace("_", "") + "Entry")
        entry.options.map_entry = True
        entry.field.extend([_field("key", 1, key_type),
                            _field("value", 2, value_type, type_name=value_type_name)])
        k.field.append(_field(name, number, T.TYPE_MESSAGE, label=rep,
                              type_name=f".t.Kitchen.{entry.name}"))
    pool.Add(f)
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Kitchen")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Legacy")))


def test_random_messages_of_a_proto_with_every_feature() -> None:
    kitchen, legacy = kitchen_types()
    rng = random.Random("kitchen")
    keys: set[str] = set()
    for _ in range(100):
        line = assert_same(fill(kitchen(), rng, max_depth=2))
        keys |= set(_keys(json.loads(line)))
        assert_same(fill(legacy(), rng, max_depth=2))
    assert {"from", "class", "customJson", "oDouble", "strMap", "boolMap", "when", "sA", "sB",
            "cWhen", "traceId", "spanId", "legacy", "f1", "r1"} <= keys


def test_proto2_presence_and_defaults() -> None:
    _, legacy = kitchen_types()
    msg = legacy()
    assert assert_same(msg) == "{}"
    msg.a = 0  # type: ignore[attr-defined]  # set to a value that is not its default
    msg.b = "x"  # type: ignore[attr-defined]  # set to its default: present all the same
    msg.ext.n = 5  # type: ignore[attr-defined]  # a message with extensions: json_format's
    assert assert_same(msg) == '{"a":0,"b":"x","ext":{"n":"5"}}'


def test_well_known_types_and_json_names() -> None:
    kitchen, _ = kitchen_types()
    msg = kitchen(renamed="r", trace_id=b"\xab" * 4, span_id=[b"\x01"])
    msg.when.seconds = 1_700_000_000  # type: ignore[attr-defined]
    msg.when.nanos = 5000  # type: ignore[attr-defined]
    setattr(msg, "from", "keyword")  # a keyword: no attribute syntax
    getattr(msg, "class").append(2**63 - 1)
    line = assert_same(msg)
    assert '"when":"2023-11-14T22:13:20.000005Z"' in line
    assert '"from":"keyword"' in line and '"class":["9223372036854775807"]' in line
    assert '"traceId":"abababab"' in line  # a single id is hex
    assert '"spanId":["AQ=="]' in line  # repeated bytes stay base64, as before


def test_concurrent_first_use_compiles_one_consistent_encoder() -> None:
    kitchen, _ = kitchen_types()  # a fresh pool: nothing compiled for these types yet
    msgs = [fill(kitchen(), random.Random(i), max_depth=2) for i in range(16)]
    expected = [old_line(m) for m in msgs]
    barrier = threading.Barrier(8)
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = [to_json_line(m) for m in msgs]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert all(results[n] == expected for n in range(8))
    assert encoder._encoder(kitchen.DESCRIPTOR) is encoder._encoder(kitchen.DESCRIPTOR)


def test_a_failed_compile_leaves_nothing_half_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kitchen, _ = kitchen_types()
    real: Callable[[Descriptor], str] = encoder._function_source

    def broken(desc: Descriptor) -> str:
        if desc.full_name == "t.Legacy":
            raise RuntimeError("generator bug")
        return real(desc)

    monkeypatch.setattr(encoder, "_function_source", broken)
    with pytest.raises(RuntimeError, match="generator bug"):
        to_json_line(kitchen())
    monkeypatch.setattr(encoder, "_function_source", real)
    msg = kitchen(legacy={"a": 1})
    assert to_json_line(msg) == old_line(msg)

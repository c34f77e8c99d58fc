"""Snapshot -> OTLP ``ExportMetricsServiceRequest``, and OTLP/JSON lines.

The JSON is what the OpenTelemetry Collector's file exporter writes: one request per line,
proto3 JSON with lowerCamelCase field names, enums as integers, 64-bit integers as strings,
and trace/span ids as hex (OTLP/JSON's one deviation from proto3 JSON, which uses base64).

Mapping: counter -> monotonic cumulative ``Sum``; gauge -> ``Gauge``; histogram -> cumulative
``Histogram`` (explicit bounds without ``+Inf``, per-bucket, non-cumulative counts); summary ->
``Summary``. Labels become attributes; metric names stay as declared (no ``_total`` added).
"""

from __future__ import annotations

import base64
import json
import json.encoder
import keyword
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

# types-protobuf may be absent: then json_format is untyped (Any).
from google.protobuf import json_format  # type: ignore[import-untyped, unused-ignore]
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor
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
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


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
    """``msg`` (any OTLP request or response) as one line of OTLP/JSON (no trailing newline).

    The same text ``json_format.MessageToDict(msg, use_integers_for_enums=True)`` with hex
    trace/span ids gives, from an encoder compiled once per message type (see
    :func:`_encoder`): json_format walks every message by reflection, 20x slower.
    """
    return _encoder(cast(Descriptor, msg.DESCRIPTOR))(msg)


def from_json_line(line: str) -> ExportMetricsServiceRequest:
    """Parse one OTLP/JSON line (hex ids accepted) back into a request.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``json_format.ParseError``) on a line
    that is not an OTLP/JSON metrics request.
    """
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("an OTLP/JSON line is a JSON object")
    _convert_ids(data, _hex_to_b64)
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


def _convert_ids(node: Any, convert: Any) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                node[k] = convert(v)
            else:
                _convert_ids(v, convert)
    elif isinstance(node, list):
        for item in node:
            _convert_ids(item, convert)


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_b64(value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value  # already base64 (plain proto3 JSON)
    return base64.b64encode(raw).decode("ascii")



# -- the compiled encoder ---------------------------------------------------------------
# One Python function per message type, generated from its descriptor the first time the
# type is encoded and then reused, that writes the JSON text itself: plain attribute reads
# (upb answers those fast, while ``ListFields`` costs ~3 us for a span) and string
# concatenation, with no intermediate dicts for ``json.dumps`` to walk again.
#
# Field by field it writes what ``json.dumps(MessageToDict(msg, use_integers_for_enums=True),
# separators=(",", ":"), ensure_ascii=False)`` writes: keys are ``json_name`` in field-number
# order; a field without presence is written when not at its default (for doubles -0.0 is not
# the default: upb serializes it), a field with presence (message, oneof member, proto3
# ``optional``) when set; 64-bit integers as strings; doubles as ``repr`` or
# "NaN"/"Infinity"/"-Infinity"; floats at their shortest 32-bit repr; strings escaped by
# json's own ``encode_basestring``; bytes as base64, except the singular ``traceId``,
# ``spanId`` and ``parentSpanId`` that OTLP/JSON writes as hex. Well-known types
# (``google/protobuf/*``) and messages with extension ranges go through json_format itself.

_Encode = Callable[[Any], str]
_FD = FieldDescriptor
_INT64_CPP = frozenset({_FD.CPPTYPE_INT64, _FD.CPPTYPE_UINT64})
_quote: Callable[[str], str] = json.encoder.encode_basestring  # json.dumps(ensure_ascii=False)'s
_QUOTED_INT = repr('"%d"')  # source literals for the generated code
_QUOTED_STR = repr('"%s"')
_compile_lock = threading.Lock()
_encoders: dict[Descriptor, _Encode] = {}  # written under _compile_lock
_names: dict[Descriptor, str] = {}  # message type -> its function's name in _namespace


def _nonfinite(value: float) -> str:
    if math.isnan(value):
        return '"NaN"'
    return '"-Infinity"' if value < 0 else '"Infinity"'


def _double(value: float) -> str:
    return repr(value) if value - value == 0.0 else _nonfinite(value)


def _doubles(values: Iterable[float]) -> str:
    items = list(values)
    total = sum(items)
    if total - total == 0.0:  # all finite (an overflowing sum only takes the slow path)
        return "[" + ",".join(map(repr, items)) + "]"
    return "[" + ",".join(map(_double, items)) + "]"


def _float32(value: float) -> str:
    if value - value != 0.0:
        return _nonfinite(value)
    from google.protobuf.internal import type_checkers

    return repr(float(type_checkers.ToShortestFloat(value)))


def _b64(value: bytes) -> str:
    return '"' + base64.b64encode(value).decode("ascii") + '"'


def _map_key(key: object) -> str:
    if isinstance(key, bool):
        return '"true"' if key else '"false"'
    return _quote(str(key))


def _fallback(msg: Message) -> str:
    data = json_format.MessageToDict(msg, use_integers_for_enums=True)
    _convert_ids(data, _b64_to_hex)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


_namespace: dict[str, Any] = {
    "_nonfinite": _nonfinite,
    "_doubles": _doubles,
    "_float32": _float32,
    "_b64": _b64,
    "_map_key": _map_key,
    "_quote": _quote,
    "_copysign": math.copysign,
}


def _encoder(desc: Descriptor) -> _Encode:
    """The function writing a ``desc`` message as JSON text (compiled once, then cached)."""
    enc = _encoders.get(desc)
    if enc is None:
        with _compile_lock:
            enc = _encoders.get(desc)
            if enc is None:
                _compile(desc)
                enc = _encoders[desc]
    return enc


def _uses_fallback(desc: Descriptor) -> bool:
    return desc.file.name.startswith("google/protobuf/") or bool(desc.extension_ranges)


def _compile(root: Descriptor) -> None:
    """Generate, exec and register the functions of ``root`` and of every message type it
    reaches that has none yet (named before any is generated: types may be recursive)."""
    todo = [root]
    batch: list[Descriptor] = []
    while todo:
        desc = todo.pop()
        if desc in _names:
            continue
        _names[desc] = f"_enc{len(_names)}"
        batch.append(desc)
        if not _uses_fallback(desc):
            todo.extend(f.message_type for f in desc.fields if f.message_type is not None)
    try:
        for desc in batch:
            if _uses_fallback(desc):
                _namespace[_names[desc]] = _fallback
            else:
                source = _function_source(desc)
                exec(compile(source, f"<otlp_json: {desc.full_name}>", "exec"), _namespace)
    except BaseException:
        for desc in batch:  # leave no name that points at nothing
            del _names[desc]
        raise
    for desc in batch:
        _encoders[desc] = _namespace[_names[desc]]


def _message_type(field: FieldDescriptor) -> Descriptor:
    mt = field.message_type
    assert mt is not None, field.full_name
    return mt


def _is_map(field: FieldDescriptor) -> bool:
    mt = field.message_type
    return field.is_repeated and mt is not None and bool(mt.GetOptions().map_entry)


def _read(field: FieldDescriptor) -> str:
    name = field.name
    return f"getattr(m, {name!r})" if keyword.iskeyword(name) else f"m.{name}"


def _key(field: FieldDescriptor, after: str = "") -> str:
    """The literal ``,"jsonName":`` + ``after`` (every member has a leading comma)."""
    return repr("," + _quote(field.json_name) + ":" + after)


def _text(field: FieldDescriptor, var: str) -> str:
    """Expression: the JSON text of ``var`` (a plain name), one value of ``field``."""
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_MESSAGE:
        return f"{_names[_message_type(field)]}({var})"
    if cpp in _INT64_CPP:
        return f"{_QUOTED_INT} % {var}"
    if cpp == _FD.CPPTYPE_DOUBLE:
        return f"(repr({var}) if {var} - {var} == 0.0 else _nonfinite({var}))"
    if cpp == _FD.CPPTYPE_FLOAT:
        return f"_float32({var})"
    if cpp == _FD.CPPTYPE_BOOL:
        return f"('true' if {var} else 'false')"
    if field.type == _FD.TYPE_BYTES:
        return f"{_QUOTED_STR} % {var}.hex()" if field.json_name in _ID_KEYS else f"_b64({var})"
    if cpp == _FD.CPPTYPE_STRING:
        return f"_quote({var})"
    return f"str({var})"  # enum (as its number), 32-bit integers


def _repeated_text(field: FieldDescriptor) -> tuple[str, str, str]:
    """(opening literal, expression, closing literal) writing the non-empty repeated ``v``."""
    if _is_map(field):
        entry = _message_type(field)
        value = _text(entry.fields_by_name["value"], "x")
        return "{", f"','.join([_map_key(k) + ':' + {value} for k, x in v.items()])", "}"
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_MESSAGE:
        return "[", f"','.join(map({_names[_message_type(field)]}, v))", "]"
    if cpp in _INT64_CPP:
        return '["', "'\",\"'.join(map(str, v))", '"]'
    if cpp == _FD.CPPTYPE_DOUBLE:
        return "", "_doubles(v)", ""
    if cpp == _FD.CPPTYPE_FLOAT:
        return "[", "','.join(map(_float32, v))", "]"
    if cpp == _FD.CPPTYPE_BOOL:
        return "[", "','.join(['true' if x else 'false' for x in v])", "]"
    if field.type == _FD.TYPE_BYTES:
        return "[", "','.join(map(_b64, v))", "]"  # OTLP's hex rule is for single ids only
    if cpp == _FD.CPPTYPE_STRING:
        return "[", "','.join(map(_quote, v))", "]"
    return "[", "','.join(map(str, v))", "]"


def _function_source(desc: Descriptor) -> str:
    lines = [f"def {_names[desc]}(m):", "    s = ''"]
    fields = sorted(desc.fields, key=lambda f: f.number)
    done: set[str] = set()  # oneofs written
    resolved: dict[str, str] = {}  # oneof name -> local holding its set member's name
    previous: OneofDescriptor | None = None
    for i, field in enumerate(fields):
        oneof = field.containing_oneof
        if oneof is not None and len(oneof.fields) > 1:  # a real oneof (not proto3 optional)
            if oneof.name in done:
                continue
            members = {f.name for f in oneof.fields}
            if {f.name for f in fields[i : i + len(members)]} == members:
                lines += _contiguous_oneof_lines(oneof)
                done.add(oneof.name)
                previous = None
                continue
            var = resolved.get(oneof.name)
            if var is None:
                var = resolved[oneof.name] = f"w{len(resolved)}"
                lines += _which_lines(oneof, var)
            word = "elif" if previous is oneof else "if"
            previous = oneof
            lines += [f"    {word} {var} == {field.name!r}:", f"        v = {_read(field)}",
                      f"        s += {_key(field)} + {_text(field, 'v')}"]
            continue
        previous = None
        if field.is_repeated:
            opening, expr, closing = _repeated_text(field)
            lines += [f"    v = {_read(field)}",
                      f"    if v: s += {_key(field, opening)} + {expr}"
                      + (f" + {closing!r}" if closing else "")]
        elif field.cpp_type == _FD.CPPTYPE_MESSAGE and not _uses_fallback(_message_type(field)):
            # Non-empty text means a non-default message, which an unset field never reads as.
            lines += [f"    t = {_text(field, _read(field))}",
                      f"    if t != '{{}}' or m.HasField({field.name!r}): s += {_key(field)} + t"]
        elif field.has_presence:  # message, proto3 optional, proto2 scalar
            lines += [f"    if m.HasField({field.name!r}):", f"        v = {_read(field)}",
                      f"        s += {_key(field)} + {_text(field, 'v')}"]
        else:
            test = "v"
            if field.cpp_type in (_FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT):
                test = "v or _copysign(1.0, v) < 0.0"  # -0.0 is not the default
            lines += [f"    v = {_read(field)}",
                      f"    if {test}: s += {_key(field)} + {_text(field, 'v')}"]
    lines += ["    return '{' + s[1:] + '}'", ""]
    return "\n".join(lines)


def _contiguous_oneof_lines(oneof: OneofDescriptor) -> list[str]:
    """A oneof whose members are neighbours in field-number order, written where they are.

    A scalar member holding a non-default value must be the set one, so those are tried
    first (a string ``AnyValue`` costs one read); ``WhichOneof`` (~0.3 us) settles the rest:
    a member set to its default, or a message member."""
    lines: list[str] = []
    word = "if"
    for field in oneof.fields:
        if field.cpp_type != _FD.CPPTYPE_MESSAGE:
            text = _text(field, "v")
            lines.append(f"    {word} v := {_read(field)}: s += {_key(field)} + {text}")
            word = "elif"
    indent = "    " if not lines else "        "
    if lines:
        lines.append("    else:")
    lines.append(f"{indent}w = m.WhichOneof({oneof.name!r})")
    word = "if"
    for field in oneof.fields:
        lines += [f"{indent}{word} w == {field.name!r}:", f"{indent}    v = {_read(field)}",
                  f"{indent}    s += {_key(field)} + {_text(field, 'v')}"]
        word = "elif"
    return lines


def _which_lines(oneof: OneofDescriptor, var: str) -> list[str]:
    """Set ``var`` to the name of the set member of ``oneof`` (None: none), scalar members
    with a non-default value first, as in :func:`_contiguous_oneof_lines`."""
    lines: list[str] = []
    word = "if"
    for field in oneof.fields:
        if field.cpp_type != _FD.CPPTYPE_MESSAGE:
            lines.append(f"    {word} {_read(field)}: {var} = {field.name!r}")
            word = "elif"
    which = f"m.WhichOneof({oneof.name!r})"
    lines.append(f"    else: {var} = {which}" if lines else f"    {var} = {which}")
    return lines

"""OTLP/JSON text for any protobuf message, by an encoder compiled once per message type.

Split from ``otlp_json`` (which maps snapshots to OTLP and owns the public ``to_json_line``)
because this is a small code generator of its own. Measured (bench/bench_ingest.py
--forward): about 3x faster than ``json_format.MessageToDict`` + ``json.dumps``, with the
same text byte for byte (tests/export/test_otlp_json_fast.py compares them).
"""

from __future__ import annotations

import base64
import itertools
import json
import json.encoder
import keyword
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any, cast

# types-protobuf may be absent: then json_format is untyped (Any).
from google.protobuf import json_format  # type: ignore[import-untyped, unused-ignore]
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor
from google.protobuf.message import Message

from timeline_telemetry.otlp.json_ids import ID_KEYS as _ID_KEYS
from timeline_telemetry.otlp.json_ids import b64_to_hex as _b64_to_hex
from timeline_telemetry.otlp.json_ids import convert_ids as _convert_ids

__all__ = ["encode"]


def encode(msg: Message) -> str:
    """``msg`` as one line of OTLP/JSON (see ``otlp_json.to_json_line``)."""
    return _encoder(cast(Descriptor, msg.DESCRIPTOR))(msg)


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
_compile_lock = threading.Lock()
_encoders: dict[Descriptor, _Encode] = {}  # written under _compile_lock
_names: dict[Descriptor, str] = {}  # message type -> its function's name in _namespace
_numbers = itertools.count()  # for those names


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
        _names[desc] = f"_enc{next(_numbers)}"
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
                if _key_value_fast_path_applies(desc):
                    _namespace[_names[desc]] = _key_value_fast_path(
                        _namespace[_names[desc]], strindex="key_strindex" in desc.fields_by_name
                    )
    except BaseException:
        for desc in batch:  # leave no name that points at nothing
            del _names[desc]
        raise
    for desc in batch:
        _encoders[desc] = _namespace[_names[desc]]


def _key_value_fast_path_applies(desc: Descriptor) -> bool:
    """True for OTLP's ``KeyValue`` as :func:`_key_value_fast_path` knows it: ``key``, a
    singular ``value`` (an ``AnyValue``: nothing but one oneof with ``string_value``,
    ``int_value``, ``bool_value`` and ``double_value`` among its members) and, in newer
    protos, ``key_strindex``."""
    if desc.full_name != "opentelemetry.proto.common.v1.KeyValue":
        return False
    fields = desc.fields_by_name
    if not {"key", "value"} <= set(fields) <= {"key", "value", "key_strindex"}:
        return False
    key, value = fields["key"], fields["value"]
    any_value = value.message_type
    if key.type != _FD.TYPE_STRING or value.is_repeated or any_value is None:
        return False
    if len(any_value.oneofs) != 1 or len(any_value.oneofs[0].fields) != len(any_value.fields):
        return False
    members = {f.name: f.type for f in any_value.fields}
    expected = {"string_value": _FD.TYPE_STRING, "int_value": _FD.TYPE_INT64,
                "bool_value": _FD.TYPE_BOOL, "double_value": _FD.TYPE_DOUBLE}
    return all(members.get(name) == kind for name, kind in expected.items())


def _key_value_fast_path(generic: _Encode, *, strindex: bool) -> _Encode:
    """``KeyValue`` with a key and a plain value (nearly every attribute) in one formatting
    operation; anything else goes to ``generic``. The generated code spends about a
    microsecond more per attribute, and spans carry many attributes. ``strindex``: the
    type has ``key_strindex`` (written when not 0, so it must be 0 here)."""
    quote = _quote

    def key_value(m: Any) -> str:
        key = m.key
        if key and not (strindex and m.key_strindex):
            value = m.value
            if x := value.string_value:  # a member that is not at its default is the set one
                return f'{{"key":{quote(key)},"value":{{"stringValue":{quote(x)}}}}}'
            if x := value.int_value:
                return f'{{"key":{quote(key)},"value":{{"intValue":"{x}"}}}}'
            if value.bool_value:
                return f'{{"key":{quote(key)},"value":{{"boolValue":true}}}}'
            if (x := value.double_value) and x - x == 0.0:
                return f'{{"key":{quote(key)},"value":{{"doubleValue":{x!r}}}}}'
        return generic(m)

    return key_value


def _finite_when_unset(desc: Descriptor) -> bool:
    """Whether encoding an unset (default) ``desc`` ends: its singular message fields are
    encoded before their presence is asked, so a cycle of those (``Node.child`` of type
    ``Node``) would recurse forever; such fields ask ``HasField`` first. Well-known types are
    json_format's and always asked first."""
    if _uses_fallback(desc):
        return False
    path: set[Descriptor] = set()

    def finite(d: Descriptor) -> bool:
        if d in path:
            return False
        path.add(d)
        for f in d.fields:
            mt = f.message_type
            if mt is None or f.is_repeated or _uses_fallback(mt):
                continue
            oneof = f.containing_oneof
            if oneof is not None and len(oneof.fields) > 1:
                continue  # a oneof member is written only once WhichOneof names it
            if not finite(mt):
                return False
        path.discard(d)
        return True

    return finite(desc)


def _message_type(field: FieldDescriptor) -> Descriptor:
    mt = field.message_type
    assert mt is not None, field.full_name
    return mt


def _is_map(field: FieldDescriptor) -> bool:
    mt = field.message_type
    return field.is_repeated and mt is not None and bool(mt.GetOptions().map_entry)


def _read(field: FieldDescriptor, m: str = "m") -> str:
    """Source reading ``field`` of the message in local ``m``."""
    name = field.name
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"{m}.{name}"
    return f"getattr({m}, {name!r})"


def _prefix(field: FieldDescriptor) -> str:
    """``,"jsonName":`` (every member is written with a leading comma, cut at the end)."""
    return "," + _quote(field.json_name) + ":"


def _fmt(text: str, spec: str) -> str:
    """Source of a %-format string: ``text`` as is, then the conversion(s) ``spec``."""
    return repr(text.replace("%", "%%") + spec)


# %s, not %d: str() of an int is the same digits, about twice as fast in %-formatting.
_QUOTED_INT = '"%s"'  # an int64 is a JSON string
_QUOTED_STR = '"%s"'


def _member(field: FieldDescriptor, var: str) -> str:
    """Expression: ``,"jsonName":`` and the JSON text of ``var`` (a local holding one value
    of ``field``): the key folded into one %-format where the value is formatted anyway,
    else the key concatenated with :func:`_text`."""
    key = _prefix(field)
    cpp = field.cpp_type
    if cpp in _INT64_CPP:
        return f"{_fmt(key, _QUOTED_INT)} % {var}"
    if cpp == _FD.CPPTYPE_BOOL:
        return f"({key + 'true'!r} if {var} else {key + 'false'!r})"
    if field.type == _FD.TYPE_BYTES and field.json_name in _ID_KEYS:
        return f"{_fmt(key, _QUOTED_STR)} % {var}.hex()"
    if cpp in (_FD.CPPTYPE_MESSAGE, _FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT,
               _FD.CPPTYPE_STRING) or field.type == _FD.TYPE_BYTES:
        # repr() then concatenation for doubles: twice as fast as '%r' formatting.
        return f"{key!r} + {_text(field, var)}"
    return f"{_fmt(key, '%s')} % {var}"  # enum (as its number), 32-bit integers


def _text(field: FieldDescriptor, var: str) -> str:
    """Expression: the JSON text of ``var``, one value of ``field`` (no key)."""
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_MESSAGE:
        return f"{_names[_message_type(field)]}({var})"
    if cpp in _INT64_CPP:
        return f"{_QUOTED_INT!r} % {var}"
    if cpp == _FD.CPPTYPE_DOUBLE:
        return f"(repr({var}) if {var} - {var} == 0.0 else _nonfinite({var}))"
    if cpp == _FD.CPPTYPE_FLOAT:
        return f"_float32({var})"
    if cpp == _FD.CPPTYPE_BOOL:
        return f"('true' if {var} else 'false')"
    if field.type == _FD.TYPE_BYTES:
        return f"{_QUOTED_STR!r} % {var}.hex()" if field.json_name in _ID_KEYS else f"_b64({var})"
    if cpp == _FD.CPPTYPE_STRING:
        return f"_quote({var})"
    return f"str({var})"  # enum (as its number), 32-bit integers


def _map_member(field: FieldDescriptor, var: str) -> str:
    """Expression: ``,"jsonName":`` and the JSON object of the non-empty map ``var``."""
    value = _text(_message_type(field).fields_by_name["value"], "x")
    items = f"','.join([_map_key(k) + ':' + {value} for k, x in {var}.items()])"
    return f"{_fmt(_prefix(field), '{%s}')} % {items}"


def _repeated_member(field: FieldDescriptor, var: str) -> str:
    """Expression: ``,"jsonName":`` and the JSON array of the non-empty repeated ``var``."""
    if _is_map(field):
        return _map_member(field, var)
    key = _prefix(field)
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_MESSAGE:
        items = f"','.join(map({_names[_message_type(field)]}, {var}))"
    elif cpp in _INT64_CPP:
        return f"{_fmt(key, '[%s]')} % ','.join([{_QUOTED_INT!r} % x for x in {var}])"
    elif cpp == _FD.CPPTYPE_DOUBLE:
        return f"{key!r} + _doubles({var})"
    elif cpp == _FD.CPPTYPE_FLOAT:
        items = f"','.join(map(_float32, {var}))"
    elif cpp == _FD.CPPTYPE_BOOL:
        items = f"','.join(['true' if x else 'false' for x in {var}])"
    elif field.type == _FD.TYPE_BYTES:
        items = f"','.join(map(_b64, {var}))"  # OTLP's hex rule is for single ids only
    elif cpp == _FD.CPPTYPE_STRING:
        items = f"','.join(map(_quote, {var}))"
    else:
        items = f"','.join(map(str, {var}))"
    return f"{_fmt(key, '[%s]')} % {items}"


def _function_source(desc: Descriptor) -> str:
    lines = [f"def {_names[desc]}(m):", "    s = ''"]
    lines += _body(desc, "", inline=True)
    lines += ["    return '{%s}' % s[1:]", ""]
    return "\n".join(lines)


def _body(desc: Descriptor, sfx: str, *, inline: bool) -> list[str]:
    """Statements appending each member of message ``m<sfx>`` to the text ``s<sfx>``.

    Locals carry the suffix ``sfx`` so that a singular message field's own body can be
    inlined (one level, ``inline``: ``Span.status``, ``LogRecord.body``), which saves a call
    and two string operations per message."""
    m, s, v = f"m{sfx}", f"s{sfx}", f"v{sfx}"
    lines: list[str] = []
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
                lines += _contiguous_oneof_lines(oneof, sfx)
                done.add(oneof.name)
                previous = None
                continue
            var = resolved.get(oneof.name)
            if var is None:
                var = resolved[oneof.name] = f"w{sfx}_{len(resolved)}"
                lines += _which_lines(oneof, var, m)
            word = "elif" if previous is oneof else "if"
            previous = oneof
            lines += [f"{word} {var} == {field.name!r}:", f"    {v} = {_read(field, m)}",
                      f"    {s} += {_member(field, v)}"]
            continue
        previous = None
        if field.is_repeated:
            lines += [f"{v} = {_read(field, m)}", f"if {v}: {s} += {_repeated_member(field, v)}"]
        elif field.cpp_type == _FD.CPPTYPE_MESSAGE and _finite_when_unset(_message_type(field)):
            # Written when its text is not empty (a message with a value that is not the
            # default is set: an unset field reads as the default) or when set: one
            # HasField call saved in the common case.
            has = f"{m}.HasField({field.name!r})"
            if inline:
                child = sfx + "1"
                lines += [f"m{child} = {_read(field, m)}", f"s{child} = ''"]
                lines += _body(_message_type(field), child, inline=False)
                lines += [f"if s{child} or {has}: "
                          f"{s} += {_fmt(_prefix(field), '{%s}')} % s{child}[1:]"]
            else:
                lines += [f"t{sfx} = {_text(field, _read(field, m))}",
                          f"if t{sfx} != '{{}}' or {has}: {s} += {_prefix(field)!r} + t{sfx}"]
        elif field.has_presence:  # message, proto3 optional, proto2 scalar
            lines += [f"if {m}.HasField({field.name!r}):", f"    {v} = {_read(field, m)}",
                      f"    {s} += {_member(field, v)}"]
        else:
            test = v
            if field.cpp_type in (_FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT):
                test = f"{v} or _copysign(1.0, {v}) < 0.0"  # -0.0 is not the default
            lines += [f"{v} = {_read(field, m)}", f"if {test}: {s} += {_member(field, v)}"]
    return ["    " + line for line in lines] if not sfx else lines


def _contiguous_oneof_lines(oneof: OneofDescriptor, sfx: str) -> list[str]:
    """A oneof whose members are neighbours in field-number order, written where they are.

    A scalar member holding a non-default value must be the set one, so those are tried
    first (a string ``AnyValue`` costs one read); ``WhichOneof`` (~0.3 us) settles the rest:
    a member set to its default, or a message member."""
    m, s, v, w = f"m{sfx}", f"s{sfx}", f"v{sfx}", f"w{sfx}"
    lines: list[str] = []
    word = "if"
    for field in oneof.fields:
        if field.cpp_type != _FD.CPPTYPE_MESSAGE:
            lines.append(f"{word} {v} := {_read(field, m)}: {s} += {_member(field, v)}")
            word = "elif"
    indent = "    " if lines else ""
    if lines:
        lines.append("else:")
    lines.append(f"{indent}{w} = {m}.WhichOneof({oneof.name!r})")
    word = "if"
    for field in oneof.fields:
        lines += [f"{indent}{word} {w} == {field.name!r}:", f"{indent}    {v} = {_read(field, m)}",
                  f"{indent}    {s} += {_member(field, v)}"]
        word = "elif"
    return lines


def _which_lines(oneof: OneofDescriptor, var: str, m: str) -> list[str]:
    """Set ``var`` to the name of the set member of ``oneof`` (None: none), scalar members
    with a non-default value first, as in :func:`_contiguous_oneof_lines`."""
    lines: list[str] = []
    word = "if"
    for field in oneof.fields:
        if field.cpp_type != _FD.CPPTYPE_MESSAGE:
            lines.append(f"{word} {_read(field, m)}: {var} = {field.name!r}")
            word = "elif"
    which = f"{m}.WhichOneof({oneof.name!r})"
    lines.append(f"else: {var} = {which}" if lines else f"{var} = {which}")
    return lines

"""The remote-write 1.0 ``WriteRequest``, encoded by hand (prompb ``types.proto``/``remote.proto``).

Hand-encoded rather than built from protobuf message classes because every series' labels
are the same on every send: they are encoded once per series and cached as bytes
(:func:`encode_labels`), so a send costs only its samples. The subset of the schema used::

    message WriteRequest { repeated TimeSeries timeseries = 1; }  // field 3 (metadata) unused
    message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    message Label        { string name = 1; string value = 2; }
    message Sample       { double value = 1; int64 timestamp = 2; }  // ms since the epoch

The tests decode what this writes with message classes built by the ``protobuf`` package
from the same schema, and the real receivers (Prometheus, VictoriaMetrics) accept it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

__all__ = ["encode_labels", "encode_write_request"]

_DOUBLE = struct.Struct("<d")
#: Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
_TAG_TIMESERIES = b"\x0a"
_TAG_LABEL = b"\x0a"
_TAG_SAMPLE = b"\x12"
_TAG_NAME = b"\x0a"
_TAG_VALUE_STR = b"\x12"
_TAG_VALUE_DOUBLE = b"\x09"
_TAG_TIMESTAMP = b"\x10"


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 on the wire: two's complement in ten bytes
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string_field(tag: bytes, text: str) -> bytes:
    raw = text.encode("utf-8")
    return tag + _varint(len(raw)) + raw


def encode_labels(labels: Iterable[tuple[str, str]]) -> bytes:
    """The ``labels`` fields of one ``TimeSeries`` (``__name__`` among them), sorted by name
    as the protocol requires."""
    out = bytearray()
    for name, value in sorted(labels):
        body = _string_field(_TAG_NAME, name) + _string_field(_TAG_VALUE_STR, value)
        out += _TAG_LABEL + _varint(len(body)) + body
    return bytes(out)


def _sample(ts_ms: int, value: float) -> bytes:
    body = _TAG_VALUE_DOUBLE + _DOUBLE.pack(value) + _TAG_TIMESTAMP + _varint(ts_ms)
    return _TAG_SAMPLE + _varint(len(body)) + body


def encode_write_request(series: Iterable[tuple[bytes, Sequence[tuple[int, float]]]]) -> bytes:
    """A serialised ``WriteRequest``: one ``TimeSeries`` per ``(encoded labels, samples)``,
    ``samples`` as ``(timestamp ms, value)`` in time order."""
    out = bytearray()
    for labels, samples in series:
        body = labels + b"".join([_sample(ts, v) for ts, v in samples])
        out += _TAG_TIMESERIES + _varint(len(body)) + body
    return bytes(out)

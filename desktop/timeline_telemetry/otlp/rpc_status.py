"""Reading the ``message`` of a ``google.rpc.Status`` (an OTLP error body) without the
``googleapis-common-protos`` package, which the agent does not depend on."""

from __future__ import annotations

__all__ = ["status_message"]


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def status_message(body: bytes) -> str:
    """Field 2 (``message``) of a protobuf ``google.rpc.Status``; ValueError if ``body`` is
    not one."""
    i = 0
    message = ""
    while i < len(body):
        tag, i = _varint(body, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = _varint(body, i)
        elif wire == 2:
            n, i = _varint(body, i)
            if i + n > len(body):
                raise ValueError("truncated field")
            if field == 2:
                message = body[i:i + n].decode("utf-8")
            i += n
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return message

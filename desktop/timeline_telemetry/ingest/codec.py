"""OTLP/HTTP request bodies in, responses out (the protocol part of the receiver).

* ``Content-Type``: ``application/x-protobuf`` or ``application/json`` (anything else: 415);
* ``Content-Encoding``: ``gzip`` (or ``deflate``/``identity``); decompression stops at
  ``max_body_bytes`` (413), so a small gzip bomb cannot inflate into memory;
* decoding with the ``opentelemetry-proto`` classes (protobuf, or proto3 JSON with OTLP's
  hex trace/span ids); a body that does not parse is a 400;
* error bodies are a ``google.rpc.Status`` in the request's encoding, as OTLP requires.
"""

from __future__ import annotations

import json
import zlib
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from timeline_telemetry.net.http_server import Request, Response
from timeline_telemetry.tracing.jsonlines import message_from_json

__all__ = [
    "JSON",
    "PROTOBUF",
    "OtlpHttpError",
    "decode_request",
    "encode_response",
    "error_response",
    "rpc_status_bytes",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
M = TypeVar("M", bound=Message)

# google.rpc.Code values used in error bodies.
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNIMPLEMENTED = 12
_INTERNAL = 13


class OtlpHttpError(Exception):
    """A request to answer with ``status`` (400, 413, 415...) and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(request: Request) -> str:
    """The request's ``Content-Type`` without parameters, lower-case."""
    return request.header("content-type").split(";", 1)[0].strip().lower()


def response_type(request: Request) -> str:
    """JSON if the request was JSON, else protobuf (also for a wrong content type)."""
    return JSON if media_type(request) == JSON else PROTOBUF


def decode_request(request: Request, message_type: type[M], *, max_body_bytes: int) -> M:
    """The request body as a ``message_type``. Raises :class:`OtlpHttpError`."""
    kind = media_type(request)
    if kind not in (PROTOBUF, JSON):
        shown = kind or "none"
        raise OtlpHttpError(
            415, f"unsupported Content-Type {shown!r}: OTLP/HTTP accepts {PROTOBUF} or {JSON}"
        )
    body = decompress(request.body, request.header("content-encoding"), limit=max_body_bytes)
    if kind == PROTOBUF:
        try:
            return message_type.FromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise OtlpHttpError(
                400, f"the body is not a protobuf {message_type.DESCRIPTOR.name}: {exc}"
            ) from None
    try:
        data = json.loads(body)
        return message_from_json(data, message_type)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and ParseError included
        raise OtlpHttpError(
            400, f"the body is not an OTLP/JSON {message_type.DESCRIPTOR.name}: {exc}"
        ) from None


def decompress(body: bytes, encoding: str, *, limit: int) -> bytes:
    """``body`` decoded per ``Content-Encoding``; more than ``limit`` bytes out is a 413."""
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        if len(body) > limit:
            raise OtlpHttpError(413, f"request body larger than {limit} bytes")
        return body
    if enc == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif enc == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise OtlpHttpError(
            415, f"unsupported Content-Encoding {encoding!r} (accepted: gzip, deflate, identity)"
        )
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpHttpError(400, f"the body is not valid {enc} data: {exc}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise OtlpHttpError(
            413, f"request body larger than {limit} bytes once decompressed (gzip bomb?)"
        )
    if not d.eof:
        raise OtlpHttpError(400, f"the {enc} data is truncated")
    return out


def encode_response(message: Message, kind: str) -> Response:
    """A 200 response carrying ``message`` (an ``Export*ServiceResponse``) in ``kind``."""
    if kind == JSON:
        from timeline_telemetry.tracing.jsonlines import (
            message_to_json_line,
        )

        return Response(200, message_to_json_line(message).encode("utf-8"), JSON)
    return Response(200, message.SerializeToString(), PROTOBUF)


def error_response(status: int, message: str, kind: str) -> Response:
    """An OTLP error: a ``google.rpc.Status`` with a code matching ``status``."""
    code = {400: _INVALID_ARGUMENT, 413: _RESOURCE_EXHAUSTED, 415: _INVALID_ARGUMENT,
            404: _UNIMPLEMENTED, 405: _UNIMPLEMENTED}.get(status, _INTERNAL)
    if kind == JSON:
        body = json.dumps({"code": code, "message": message}).encode("utf-8")
        return Response(status, body, JSON)
    return Response(status, rpc_status_bytes(code, message), PROTOBUF)


def rpc_status_bytes(code: int, message: str) -> bytes:
    """``google.rpc.Status{code, message}`` in protobuf wire format.

    Two fields written directly: ``googleapis-common-protos`` (which has the class) is not a
    dependency of the agent; the tests decode these bytes with that class.
    """
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

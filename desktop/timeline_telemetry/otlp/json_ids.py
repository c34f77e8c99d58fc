"""OTLP/JSON's one deviation from proto3 JSON: trace and span ids are hex, not base64.

``json_format`` reads and writes base64; these convert the id fields of decoded JSON in
place, whatever the message (metrics, traces, logs).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

__all__ = ["ID_KEYS", "b64_to_hex", "convert_ids", "hex_to_b64"]

#: The JSON names of the fields OTLP/JSON writes as hex.
ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def convert_ids(node: object, convert: Callable[[str], str]) -> None:
    """Apply ``convert`` to every string under an :data:`ID_KEYS` key of decoded JSON
    ``node`` (dicts and lists, recursively), in place."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ID_KEYS and isinstance(v, str):
                node[k] = convert(v)
            else:
                convert_ids(v, convert)
    elif isinstance(node, list):
        for item in node:
            convert_ids(item, convert)


def b64_to_hex(value: str) -> str:
    """A base64 id (``json_format``'s) as hex (OTLP/JSON's)."""
    return base64.b64decode(value).hex()


def hex_to_b64(value: str) -> str:
    """A hex id as base64 for ``json_format``; a value that is not hex is taken to be
    base64 already (plain proto3 JSON) and returned as it is."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value  # already base64 (plain proto3 JSON)
    return base64.b64encode(raw).decode("ascii")

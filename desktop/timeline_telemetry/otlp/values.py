"""OTLP attribute values (``AnyValue``) as text, for console lines and the dashboard's
trace and log stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # protobuf loads with the first message, not with this module
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

__all__ = ["any_value_text"]


def any_value_text(value: AnyValue) -> str:
    """An attribute value as text: strings as they are, bools ``true``/``false``, arrays and
    maps as JSON-like lists."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "array_value":
        return "[" + ",".join(any_value_text(v) for v in value.array_value.values) + "]"
    if kind == "kvlist_value":
        return "{" + ",".join(f"{kv.key}:{any_value_text(kv.value)}"
                              for kv in value.kvlist_value.values) + "}"
    return ""

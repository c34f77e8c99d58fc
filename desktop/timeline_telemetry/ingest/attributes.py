"""The OTel SDK's attribute limits, applied in place to received protobuf messages.

As the specification's "Attribute Limits" say: past ``max_count`` attributes the extra ones
are discarded (the first ``max_count`` kept; the message's ``dropped_attributes_count`` grows
where it has one), and a string longer than ``max_length`` characters (bytes: bytes) is
truncated to that length, also inside arrays and key-value lists; other values are left
alone. Keys longer than ``max_length`` are truncated too (the SDK trusts its caller's keys; a
receiver cannot). A message smaller than ``max_length`` bytes cannot hold a value that long, so the
common case costs one ``ByteSize()`` call.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

__all__ = ["AttributeCut", "cap_attributes", "cap_value"]


@dataclass(frozen=True, slots=True)
class AttributeCut:
    """What :func:`cap_attributes` did: attributes ``dropped``, values ``truncated``, and the
    key of the first dropped or truncated attribute (for the log line)."""

    dropped: int = 0
    truncated: int = 0
    key: str = ""

    def __bool__(self) -> bool:
        return bool(self.dropped or self.truncated)


NOTHING = AttributeCut()


def cap_attributes(attributes: MutableSequence[Any], *, max_count: int, max_length: int
                   ) -> AttributeCut:
    """Apply both limits to a repeated ``KeyValue`` field, in place."""
    dropped = 0
    key = ""
    n = len(attributes)
    if n > max_count:
        dropped = n - max_count
        key = attributes[max_count].key
        del attributes[max_count:]
    truncated = 0
    for kv in attributes:
        if kv.ByteSize() <= max_length:
            continue
        cut = cap_value(kv.value, max_length)
        if len(kv.key) > max_length:
            kv.key = kv.key[:max_length]
            cut = True
        if cut:
            truncated += 1
            key = key or kv.key
    if not (dropped or truncated):
        return NOTHING
    return AttributeCut(dropped, truncated, key)


def cap_value(value: Any, max_length: int) -> bool:
    """Truncate an ``AnyValue`` (recursively) to ``max_length``; True if anything changed."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        if len(text) > max_length:
            value.string_value = text[:max_length]
            return True
    elif kind == "bytes_value":
        data = value.bytes_value
        if len(data) > max_length:
            value.bytes_value = data[:max_length]
            return True
    elif kind == "array_value":
        changed = False
        for v in value.array_value.values:
            if v.ByteSize() > max_length:
                changed = cap_value(v, max_length) or changed
        return changed
    elif kind == "kvlist_value":
        changed = False
        for kv in value.kvlist_value.values:
            if kv.ByteSize() > max_length:
                changed = cap_value(kv.value, max_length) or changed
        return changed
    return False

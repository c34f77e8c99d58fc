"""OTLP/JSON lines for any OTLP request (traces, logs), as the metrics File exporter writes.

Encoding is ``export.otlp_json.to_json_line`` (proto3 JSON, lowerCamelCase, hex trace and
span ids); this module adds the way back for trace and log requests and a file reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

# types-protobuf may be absent: then json_format is untyped (Any).
from google.protobuf import json_format  # type: ignore[import-untyped, unused-ignore]
from google.protobuf.message import Message

from timeline_telemetry.export import otlp_json
from timeline_telemetry.otlp.json_ids import convert_ids, hex_to_b64

__all__ = ["message_from_json", "message_to_json_line", "read_json_lines"]

M = TypeVar("M", bound=Message)
_log = logging.getLogger(__name__)


def message_to_json_line(message: Message) -> str:
    """One line of OTLP/JSON (no newline). Trace and span ids are hex.

    The File exporters' hot path: see ``otlp_json.to_json_line`` (a per-type compiled
    encoder, not json_format's reflection)."""
    return otlp_json.to_json_line(message)


def message_from_json(data: object, message_type: type[M]) -> M:
    """Parse decoded OTLP/JSON (hex or base64 ids, enums as numbers or names, 64-bit
    integers as strings or numbers); unknown fields are ignored as OTLP requires.
    Raises ``ValueError`` when it is not a ``message_type``."""
    if not isinstance(data, dict):
        raise ValueError("an OTLP/JSON request is a JSON object")
    convert_ids(data, hex_to_b64)
    msg = message_type()
    try:
        json_format.ParseDict(data, msg, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None
    return msg


def read_json_lines(path: Path, message_type: type[M]) -> Iterator[M]:
    """Every request in one OTLP/JSON lines file; a torn last line (no newline) is skipped.
    Raises ``ValueError`` naming the line for anything else that does not parse."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                _log.debug("%s: skipping a torn last line", path)
                return
            if not raw.strip():
                continue
            try:
                yield message_from_json(json.loads(raw), message_type)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: not an OTLP/JSON line: {exc}") from exc

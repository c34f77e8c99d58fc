"""The config back as the seed's JSON form (``config show``): the inverse of the loader.

Durations become strings (``"15s"``), exporters ``{"Kind": {...}}``, paths strings. With
``mask_secrets`` every literal value under a secret-looking key (password, token, secret,
api_key, authorization, routing_key) and every literal HTTP header value is shown as
``"***"``; ``keyring:``/``env:`` references are shown as they are.
``parse_config(config_to_json(c, mask_secrets=False), ...) == c``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path

from .durations import format_duration
from .schema import TelemetryConfig, is_duration_field
from .secrets import is_secret_ref

__all__ = ["MASK", "config_to_json", "mask_json"]

MASK = "***"
_SECRET_KEY = re.compile(r"password|passwd|token|secret|api[_-]?key|authorization|routing[_-]?key",
                         re.IGNORECASE)
_ALL_VALUES_SECRET = ("headers",)

JsonValue = object


def config_to_json(config: TelemetryConfig, *, mask_secrets: bool = True) -> dict[str, object]:
    """``{"telemetry": {...}}`` with every key, ready for ``json.dump``."""
    body = _value(config)
    return {"telemetry": mask_json(body) if mask_secrets else body}


def mask_json(value: object) -> object:
    """A copy of decoded JSON with literal secrets masked by key name (see the module doc).

    Also for later sections and the diagnostics bundle: anything under a key such as
    ``smtp_password`` or ``api_key``, and every ``headers`` value, unless it is a reference.
    """
    return _mask(value, secret=False)


def _value(value: object) -> JsonValue:
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in fields(value):
            if not f.metadata.get("json", True):
                continue
            item = getattr(value, f.name)
            # an optional duration (a health check's timeout) may be None: rendered as null
            is_duration = is_duration_field(f) and item is not None
            out[f.name] = format_duration(item) if is_duration else _value(item)
        kind = getattr(type(value), "kind", None)
        return {kind: out} if isinstance(kind, str) else out
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    return value


def _mask(value: JsonValue, *, secret: bool) -> JsonValue:
    if isinstance(value, dict):
        return {
            k: _mask(v, secret=secret or bool(_SECRET_KEY.search(k)) or k in _ALL_VALUES_SECRET)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, secret=secret) for v in value]
    if secret and isinstance(value, str) and value and not is_secret_ref(value):
        return MASK
    return value

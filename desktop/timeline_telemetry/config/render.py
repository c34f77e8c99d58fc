"""The config back as the design document's JSON form (``config show``): the inverse of the
loader, and the one rule set that says what in it is secret.

Durations become strings (``"15s"``), exporters ``{"Kind": {...}}``, paths strings. With
``mask_secrets`` every literal value under a secret-looking key (:data:`SECRET_KEY`:
password, token, secret, api_key, authorization, routing_key, ...) and every literal HTTP
header value is shown as ``"***"``; every URL goes through :func:`redact_url` (user info,
secret query values and well-known webhook paths masked), and an alert ``Webhook`` action's
``url`` keeps only its scheme, host and port (its path is the credential for Slack, Discord,
Teams and most generic webhooks). ``keyring:``/``env:`` references are shown as they are.
``parse_config(config_to_json(c, mask_secrets=False), ...) == c``.

The names and URL patterns are :mod:`timeline_telemetry.redact`'s (re-exported here), the
same the diagnostics bundle's scrubber, the Console trace exporter and the receiver's stored
logs apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path

from timeline_telemetry.redact import MASK, SECRET_KEY, SECRET_KEY_WORDS, URL_RULES

from .durations import format_duration
from .schema import TelemetryConfig, is_duration_field
from .secrets import is_secret_ref

__all__ = [
    "ALL_VALUES_SECRET",
    "MASK",
    "SECRET_KEY",
    "SECRET_KEY_WORDS",
    "URL_RULES",
    "config_to_json",
    "hides_url_path",
    "is_secret_key",
    "mask_json",
    "redact_url",
]

#: Keys all of whose values are secret whatever their own names (HTTP headers).
ALL_VALUES_SECRET = frozenset({"headers"})
#: ``{"Webhook": {"url": ...}}``: objects under these keys hold a URL whose path is secret.
_PATH_SECRET_OWNERS = frozenset({"Webhook"})
_PATH_SECRET_KEYS = frozenset({"url"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*)(.*)", re.DOTALL)

JsonValue = object


def is_secret_key(name: str) -> bool:
    """Whether the values under key ``name`` are secrets (a secret-looking name or
    ``headers``): the test the config render, the bundle and secret collection share."""
    return name in ALL_VALUES_SECRET or bool(SECRET_KEY.search(name))


def hides_url_path(owner: str | None, key: str) -> bool:
    """Whether the URL under ``key`` of an object that sits under key ``owner`` is secret by
    its path (an alert ``Webhook`` action's ``url``), so only scheme, host and port show."""
    return owner in _PATH_SECRET_OWNERS and key in _PATH_SECRET_KEYS


def redact_url(url: str, *, hide_path: bool = False) -> str:
    """``url`` with user info, secret-looking query values and well-known webhook paths
    masked (non-secret query parameters and the host are kept byte for byte).

    ``hide_path``: everything after ``scheme://host:port`` becomes ``/***`` (a string that is
    not a URL becomes ``***``). ``keyring:``/``env:`` references are returned as they are.
    """
    if is_secret_ref(url):
        return url
    for _kind, rx, repl in URL_RULES:
        url = rx.sub(repl, url)
    if hide_path:
        m = _AUTHORITY.fullmatch(url)
        if m is None:
            return MASK if url else url
        if m.group(2) not in ("", "/"):
            return m.group(1) + "/" + MASK
    return url


def config_to_json(config: TelemetryConfig, *, mask_secrets: bool = True) -> dict[str, object]:
    """``{"telemetry": {...}}`` with every key, ready for ``json.dump``."""
    body = _value(config)
    return {"telemetry": mask_json(body) if mask_secrets else body}


def mask_json(value: object) -> object:
    """A copy of decoded JSON with literal secrets masked (see the module doc).

    Also for later sections: anything under a key such as ``smtp_password`` or ``api_key``
    and every ``headers`` value, unless it is a reference; every string that is a URL through
    :func:`redact_url` (with ``hide_path`` for webhook action URLs).
    """
    return _mask(value, secret=False, owner=None, hide_path=False)


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


def _mask(value: JsonValue, *, secret: bool, owner: str | None, hide_path: bool) -> JsonValue:
    if isinstance(value, dict):
        return {
            k: _mask(v, secret=secret or is_secret_key(str(k)), owner=str(k),
                     hide_path=hides_url_path(owner, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, secret=secret, owner=None, hide_path=hide_path) for v in value]
    if not isinstance(value, str) or not value or is_secret_ref(value):
        return value
    if secret:
        return MASK
    if hide_path or _URL.match(value):
        return redact_url(value, hide_path=hide_path)
    return value

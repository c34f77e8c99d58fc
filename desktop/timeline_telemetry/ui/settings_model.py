"""Where each setting of the settings form lives in the config JSON (no Qt here).

The form edits a decoded ``config.json`` (plain dicts and lists) in place: a
:class:`KeyPath` is one key in nested objects (``telemetry.metrics.collection_interval``),
a :class:`PrometheusKey` is a key of the first ``{"Prometheus": {...}}`` entry in
``telemetry.metrics.exporters`` (or, with ``key=None``, whether that entry exists).
Reading never fails: an absent key is :data:`MISSING`, a key under something that is not an
object is :data:`BLOCKED` (the validator reports it). Writing creates the objects on the way
and touches nothing else, so keys the form does not know stay as the user wrote them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "BLOCKED",
    "MISSING",
    "PROMETHEUS_FIELD",
    "JsonObject",
    "KeyPath",
    "Location",
    "PrometheusKey",
    "dump_config",
    "is_loopback_host",
    "key_offset",
]

JsonObject = dict[str, object]


class _Sentinel:
    """A marker that is not a JSON value (so no form field can show it)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


MISSING: Final = _Sentinel("MISSING")
BLOCKED: Final = _Sentinel("BLOCKED")
#: The name of the Prometheus endpoint's fields, as ``http_server`` names the port setting.
PROMETHEUS_FIELD: Final = "telemetry.metrics.exporters[].Prometheus"


class Location(Protocol):
    """A place in the config JSON that one form field reads and writes."""

    @property
    def name(self) -> str:
        """A stable name for the field (a JSON path, used in messages and by tests)."""
        ...

    def read(self, data: JsonObject) -> object:
        """The JSON value there, :data:`MISSING` or :data:`BLOCKED`."""
        ...

    def write(self, data: JsonObject, value: object) -> bool:
        """Store ``value`` there; False if the surrounding JSON does not allow it."""
        ...

    def matches(self, problem_path: str, data: JsonObject) -> bool:
        """Whether a validation problem at ``problem_path`` (in ``data``) is about this place."""
        ...


@dataclass(frozen=True)
class KeyPath:
    """One key in nested JSON objects, e.g. ``("telemetry", "budget", "rss_mb")``."""

    keys: tuple[str, ...]

    @property
    def name(self) -> str:
        """The dotted path, as config problems name it."""
        return ".".join(self.keys)

    def read(self, data: JsonObject) -> object:
        """The value, :data:`MISSING` if absent, :data:`BLOCKED` if a parent is not an object."""
        node: object = data
        for key in self.keys:
            if not isinstance(node, dict):
                return BLOCKED
            if key not in node:
                return MISSING
            node = node[key]
        return node

    def write(self, data: JsonObject, value: object) -> bool:
        """Set the value, creating missing parent objects; False if a parent is not one."""
        node: JsonObject = data
        for key in self.keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                return False
            node = child
        node[self.keys[-1]] = value
        return True

    def matches(self, problem_path: str, data: JsonObject) -> bool:
        """A problem names exactly this key."""
        return problem_path == self.name


_EXPORTERS = KeyPath(("telemetry", "metrics", "exporters"))


def _prometheus_entry(data: JsonObject) -> tuple[int, JsonObject] | _Sentinel | None:
    """The index of the first Prometheus exporter and the exporter object
    (``{"Prometheus": {...}}``); None if there is none, BLOCKED if the list is not a list."""
    exporters = _EXPORTERS.read(data)
    if exporters is MISSING:
        return None
    if not isinstance(exporters, list):
        return BLOCKED
    for i, item in enumerate(exporters):
        if (isinstance(item, dict) and list(item) == ["Prometheus"]
                and (item["Prometheus"] is None or isinstance(item["Prometheus"], dict))):
            return i, item
    return None


def _body(item: JsonObject, *, create: bool) -> JsonObject:
    """The exporter's settings object (the parser reads ``{"Prometheus": null}`` as ``{}``)."""
    body = item["Prometheus"]
    if isinstance(body, dict):
        return body
    body = {}
    if create:
        item["Prometheus"] = body
    return body


@dataclass(frozen=True)
class PrometheusKey:
    """A key of the first Prometheus exporter (``key=None``: whether there is one)."""

    key: str | None

    @property
    def name(self) -> str:
        """``telemetry.metrics.exporters[].Prometheus[.key]``."""
        return PROMETHEUS_FIELD if self.key is None else f"{PROMETHEUS_FIELD}.{self.key}"

    def read(self, data: JsonObject) -> object:
        """The key's value; for ``key=None`` True/False (an exporter list exists or not)."""
        entry = _prometheus_entry(data)
        if isinstance(entry, _Sentinel):
            return entry
        if self.key is None:
            if entry is None and _EXPORTERS.read(data) is MISSING:
                return MISSING
            return entry is not None
        if entry is None:
            return MISSING
        return _body(entry[1], create=False).get(self.key, MISSING)

    def write(self, data: JsonObject, value: object) -> bool:
        """Set a key of the entry (False if there is none); ``key=None`` adds/removes it."""
        entry = _prometheus_entry(data)
        if isinstance(entry, _Sentinel):
            return False
        if self.key is not None:
            if entry is None:
                return False
            _body(entry[1], create=True)[self.key] = value
            return True
        if value and entry is None:
            exporters = _EXPORTERS.read(data)
            if exporters is MISSING:
                exporters = []
                if not _EXPORTERS.write(data, exporters):
                    return False
            assert isinstance(exporters, list)
            exporters.append({"Prometheus": {}})
        elif not value and entry is not None:
            exporters = _EXPORTERS.read(data)
            assert isinstance(exporters, list)
            del exporters[entry[0]]
        return True

    def matches(self, problem_path: str, data: JsonObject) -> bool:
        """A problem at ``telemetry.metrics.exporters[i].Prometheus.<key>`` of this entry."""
        entry = _prometheus_entry(data)
        if self.key is None or not isinstance(entry, tuple):
            return False
        return problem_path == f"{_EXPORTERS.name}[{entry[0]}].Prometheus.{self.key}"


def dump_config(data: JsonObject) -> str:
    """The config as the dialog writes it: 2-space indent, key order kept, UTF-8 as is."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def is_loopback_host(host: str) -> bool:
    """Whether a listener on ``host`` is reachable from this machine only.

    ``localhost`` and loopback addresses (``127.x``, ``::1``) are; ``0.0.0.0``, ``::``, LAN
    addresses and other names are not (a name may resolve anywhere).
    """
    text = host.strip().strip("[]").lower()
    if text == "localhost" or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


_INDEX = re.compile(r"\[\d*\]")


def key_offset(text: str, path: str) -> int | None:
    """Where the key a problem ``path`` names starts in the JSON ``text``, best effort.

    Finds each key of the path in turn after the previous one (list indices are skipped), so
    ``telemetry.ingest.otlp.port`` lands on the receiver's ``"port"``, not the first one in
    the file. None if a key is not found.
    """
    pos = 0
    found: int | None = None
    for part in _INDEX.sub("", path).split("."):
        if not part:
            continue
        found = text.find(json.dumps(part), pos)
        if found < 0:
            return None
        pos = found + 1
    return found

"""OpenTelemetry -> Prometheus names, units and labels (the OTel "Prometheus and
OpenMetrics Compatibility" rules, as the Collector's Prometheus exporter applies them).

* metric names: every character outside ``[a-zA-Z0-9_:]`` becomes ``_``, runs of ``_``
  collapse, a leading digit gets a ``_`` prefix (``http.server.duration`` ->
  ``http_server_duration``);
* units: the UCUM unit becomes a suffix unless the name already ends with it: ``s`` ->
  ``_seconds``, ``ms`` -> ``_milliseconds``, ``By`` -> ``_bytes``, ``KiBy`` -> ``_kibibytes``,
  ``%`` -> ``_percent``, ``m/s`` -> ``_meters_per_second``, ``1`` -> ``_ratio`` on gauges only;
  ``{packet}``-style annotations are dropped;
* monotonic sums (counters) end in ``_total``;
* attribute keys become label names the same way (a leading digit gets ``key_``); two keys
  that end up equal have their values joined with ``;`` in key order; non-string values
  are written as JSON (``true``, ``3``, ``["a","b"]``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from timeline_telemetry.metrics.model import Labels

__all__ = [
    "any_value_label",
    "label_name",
    "labels_from_attributes",
    "metric_name",
    "prometheus_unit",
    "sanitize_name",
]

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]+")
_UNDERSCORES = re.compile(r"__+")
_ANNOTATION = re.compile(r"\{[^}]*\}")

_UNITS = {
    # time
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    # bytes
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "TBy": "terabytes", "bit": "bits",
    # SI
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    # misc
    "Cel": "celsius", "Hz": "hertz", "%": "percent",
}
_PER_UNITS = {
    "s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month",
    "y": "year",
}


def sanitize_name(name: str) -> str:
    """``name`` with invalid characters as ``_`` (runs collapsed), never starting with a digit."""
    out = _UNDERSCORES.sub("_", _INVALID_NAME.sub("_", name))
    if not out:
        return "_"
    return "_" + out if out[0].isdigit() else out


def prometheus_unit(unit: str, *, gauge: bool) -> str:
    """The Prometheus suffix for a UCUM ``unit`` (``""`` for none)."""
    u = _ANNOTATION.sub("", unit).strip()
    if not u:
        return ""
    if u == "1":
        return "ratio" if gauge else ""
    main, slash, per = u.partition("/")
    words: list[str] = []
    if main and main != "1":
        words.append(_UNITS.get(main, main))
    if slash and per:
        words.append("per_" + _PER_UNITS.get(per, _UNITS.get(per, per)))
    text = "_".join(words)
    return _UNDERSCORES.sub("_", _INVALID_LABEL.sub("_", text)).strip("_")


def metric_name(name: str, unit: str, *, counter: bool, gauge: bool) -> str:
    """The Prometheus family name of an OTel metric (``_total`` included for counters)."""
    base = sanitize_name(name)
    suffix = prometheus_unit(unit, gauge=gauge)
    if base.endswith("_total") and counter:
        base = base[: -len("_total")]
    if suffix and not base.endswith("_" + suffix) and base != suffix:
        base = f"{base}_{suffix}"
    if counter:
        base += "_total"
    return base


def label_name(key: str) -> str:
    """A Prometheus label name for an attribute key."""
    out = _UNDERSCORES.sub("_", _INVALID_LABEL.sub("_", key))
    if not out:
        return "key_"
    if out[0].isdigit():
        return "key_" + out
    return out


def any_value_label(value: AnyValue) -> str:
    """An attribute value as a label value (strings as they are, others as JSON)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)


def labels_from_attributes(attributes: Iterable[KeyValue], *, skip: frozenset[str] = frozenset()
                           ) -> dict[str, str]:
    """Label name -> value for OTel attributes; colliding names join values with ``;``
    in the order of the original keys. ``skip`` lists attribute keys to leave out."""
    pairs = sorted((kv.key, kv.value) for kv in attributes if kv.key not in skip)
    out: dict[str, str] = {}
    for key, value in pairs:
        name = label_name(key)
        text = any_value_label(value)
        out[name] = f"{out[name]};{text}" if name in out else text
    return out


def as_labels(labels: dict[str, str]) -> Labels:
    """Sorted label tuple."""
    return tuple(sorted(labels.items()))


def _plain(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        d = value.double_value
        return d if math.isfinite(d) else str(d)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    return None

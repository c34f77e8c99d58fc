"""Prometheus naming rules, checked once when a metric or a label set is first seen."""

from __future__ import annotations

import re

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def check_metric_name(name: object) -> str:
    """Return ``name`` if Prometheus accepts it as a metric name, else raise ``ValueError``."""
    if not isinstance(name, str) or not _METRIC_NAME.match(name):
        raise ValueError(
            f"invalid metric name {name!r}: Prometheus names match [a-zA-Z_:][a-zA-Z0-9_:]* "
            "(letters, digits, '_' and ':', not starting with a digit), "
            "e.g. 'frames_processed_total'"
        )
    if name.startswith("__"):
        raise ValueError(f"invalid metric name {name!r}: names starting with '__' are reserved")
    return name


def check_label_name(metric: str, label: object, reserved: frozenset[str] = frozenset()) -> str:
    """Return ``label`` if it is a valid, unreserved label name of ``metric``."""
    if not isinstance(label, str) or not _LABEL_NAME.match(label):
        raise ValueError(
            f"invalid attribute name {label!r} on metric {metric!r}: label names match "
            "[a-zA-Z_][a-zA-Z0-9_]* (e.g. 'endpoint', 'status_code')"
        )
    if label.startswith("__"):
        raise ValueError(
            f"invalid attribute name {label!r} on metric {metric!r}: '__' prefix is reserved"
        )
    if label in reserved:
        raise ValueError(
            f"attribute name {label!r} is reserved on metric {metric!r} "
            f"(Prometheus uses it for {'buckets' if label == 'le' else 'quantiles'})"
        )
    return label

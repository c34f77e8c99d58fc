"""The design document's code API: ``AlertRule(name, condition, severity, description, cooldown,
actions)`` and its ``AlertAction`` variants, translated to Prometheus alerting rules.

A condition is PromQL, plus two shorthand suffixes on metric names (``W`` defaults to 5m):

* ``NAME_avg`` / ``NAME_avg_W``: the average over the window ``W``. For a histogram or
  summary ``NAME`` that is the mean observation, ``rate(NAME_sum[W]) / rate(NAME_count[W])``;
  for a gauge, ``avg_over_time(NAME[W])``;
* ``NAME_rate_W`` (``api_errors_rate_5m``): the per-second rate over ``W`` of the counter
  ``NAME_total`` (or ``NAME`` if it already ends in ``_total``): ``rate(NAME_total[W])``.

So ``video_processing_duration_ms_avg > 30000`` is the design document's SlowVideoProcessing
expression, and ``api_errors_rate_5m > 0.1`` means "more than 0.1 errors per second".
A name that is itself a known metric is never rewritten.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from timeline_telemetry.metrics.model import MetricKind
from timeline_telemetry.promql.syntax import check_supported, parse

from .rules import AlertingRule, parse_prom_duration

__all__ = [
    "AlertAction",
    "AlertRule",
    "AlertSeverity",
    "EmailAction",
    "PagerDutyAction",
    "WebhookAction",
    "translate_condition",
]


class AlertSeverity(enum.Enum):
    """The design document's severities (the ``severity`` label)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class EmailAction:
    """``AlertAction::Email``: the configured SMTP server, these recipients and subject."""

    recipients: tuple[str, ...]
    subject: str


@dataclass(frozen=True)
class WebhookAction:
    """``AlertAction::Webhook``: POST ``payload`` (Slack style; ``text`` filled if absent)."""

    url: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PagerDutyAction:
    """``AlertAction::PagerDuty``: ``service_key`` is a routing key (use ``keyring:NAME``)."""

    service_key: str
    description: str = ""


@dataclass(frozen=True)
class DesktopAction:
    """A desktop notification through the tray app's notifier."""


@dataclass(frozen=True)
class AlertmanagerAction:
    """Forward to the configured Alertmanager."""


AlertAction = EmailAction | WebhookAction | PagerDutyAction | DesktopAction | AlertmanagerAction


@dataclass(frozen=True)
class AlertRule:
    """The design document's rule. ``cooldown`` (seconds): no repeat notification for the same alert
    within it. ``for_s`` is an extension (the design document's rules fire at once)."""

    name: str
    condition: str
    severity: AlertSeverity
    description: str
    cooldown: float = 0.0
    actions: Sequence[AlertAction] = ()
    for_s: float = 0.0

    def to_alerting_rule(
        self, kinds: Mapping[str, MetricKind] | None = None
    ) -> AlertingRule:
        """The equivalent Prometheus rule (raises ``PromQLError`` for a bad condition)."""
        text = translate_condition(self.condition, kinds or {})
        expr = parse(text)
        check_supported(expr)
        return AlertingRule(
            self.name, text, expr, self.for_s, 0.0,
            {"severity": self.severity.value},
            {"summary": self.description,
             "description": self.description + " (value {{ $value }})"},
        )


_IDENT = re.compile(r"(?<![\w:\"'{])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w(\[:])")
_AVG = re.compile(r"^(?P<base>.+)_avg(?:_(?P<w>\d+[smhdwy]))?$")
_RATE = re.compile(r"^(?P<base>.+)_rate_(?P<w>\d+[smhdwy])$")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset",
             "group_left", "group_right", "inf", "nan"}


def translate_condition(condition: str, kinds: Mapping[str, MetricKind]) -> str:
    """Rewrite ``_avg``/``_rate_W`` shorthands into PromQL (see the module docstring)."""
    known: Container[str] = kinds

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in known or name.lower() in _KEYWORDS:
            return name
        if (a := _AVG.match(name)) is not None:
            base, w = a.group("base"), a.group("w") or "5m"
            parse_prom_duration(w)
            kind = kinds.get(base)
            if kind in (MetricKind.HISTOGRAM, MetricKind.SUMMARY) or (kind is None and (
                base.endswith(("_ms", "_seconds", "_bytes")) and base + "_sum" not in known
                and base not in known
            )):
                return f"(rate({base}_sum[{w}]) / rate({base}_count[{w}]))"
            return f"avg_over_time({base}[{w}])"
        if (r := _RATE.match(name)) is not None:
            base, w = r.group("base"), r.group("w")
            counter = base if base.endswith("_total") else base + "_total"
            return f"rate({counter}[{w}])"
        return name

    return _IDENT.sub(sub, condition)

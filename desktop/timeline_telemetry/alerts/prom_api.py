"""The ``data`` of Prometheus's ``/api/v1/alerts`` and ``/api/v1/rules``, from our engine.

Same field names and value formats as Prometheus's HTTP API (values as Go's ``%e`` text,
times as RFC 3339 in UTC, durations in seconds), so tools written for Prometheus (Grafana's
alert list, ``amtool``-style scripts, ``curl | jq``) read ours unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal

from .engine import RuleEngine
from .rules import AlertingRule, RecordingRule
from .state import Alert, AlertState

__all__ = ["alerts_data", "format_value", "rfc3339", "rules_data"]

_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time, what Prometheus sends for "never"


def format_value(v: float) -> str:
    """A sample value as Prometheus writes it (Go's ``strconv.FormatFloat(v, 'e', -1)``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    e = exp + len(text) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def rfc3339(ts: float | None) -> str:
    """Wall-clock seconds as RFC 3339 in UTC; ``None`` as Go's zero time."""
    if ts is None or ts <= 0:
        return _ZERO_TIME
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(
        timespec="microseconds").replace("+00:00", "Z")


def _alert(a: Alert) -> dict[str, object]:
    return {"labels": dict(a.labels), "annotations": dict(a.annotations),
            "state": a.state.value, "activeAt": rfc3339(a.active_at_ms / 1000),
            "value": format_value(a.value)}


def _active(alerts: Sequence[Alert]) -> list[Alert]:
    return [a for a in alerts if a.state is not AlertState.INACTIVE]


def alerts_data(engine: RuleEngine) -> dict[str, object]:
    """``{"alerts": [...]}``: every pending and firing alert."""
    return {"alerts": [_alert(a) for st in engine.states.values()
                       for a in _active(list(st.active.values()))]}


def rules_data(
    engine: RuleEngine,
    *,
    default_interval_s: float,
    last_evaluation: float | None,
    evaluation_s: float,
) -> dict[str, object]:
    """``{"groups": [...]}`` with every rule, its health, state and active alerts."""
    groups: list[dict[str, object]] = []
    by_pos = engine.states
    for gi, g in enumerate(engine.groups):
        rules: list[dict[str, object]] = []
        for ri, r in enumerate(g.rules):
            error = engine.errors.get(r.name, "")
            common: dict[str, object] = {
                "name": r.name, "query": r.expr_text, "labels": dict(r.labels),
                "health": ("err" if error else "ok") if last_evaluation else "unknown",
                "lastError": error, "evaluationTime": 0.0,
                "lastEvaluation": rfc3339(last_evaluation)}
            if isinstance(r, RecordingRule):
                rules.append({**common, "type": "recording"})
                continue
            assert isinstance(r, AlertingRule)
            st = by_pos.get((gi, ri))
            active = _active(list(st.active.values())) if st is not None else []
            states = {a.state for a in active}
            state = ("firing" if AlertState.FIRING in states
                     else "pending" if AlertState.PENDING in states else "inactive")
            rules.append({**common, "type": "alerting", "state": state,
                          "duration": r.for_s, "keepFiringFor": r.keep_firing_for_s,
                          "annotations": dict(r.annotations),
                          "alerts": [_alert(a) for a in active]})
        groups.append({"name": g.name, "file": g.file, "rules": rules,
                       "interval": g.interval_s or default_interval_s, "limit": g.limit,
                       "evaluationTime": evaluation_s,
                       "lastEvaluation": rfc3339(last_evaluation)})
    return {"groups": groups}

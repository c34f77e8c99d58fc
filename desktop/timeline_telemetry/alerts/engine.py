"""Evaluates rule groups at a time: recording rules write series, alerting rules advance
their :class:`~.state.RuleState`, and ``ALERTS`` series are written as Prometheus does."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import promql_parser as pp

from timeline_telemetry.metrics.model import Labels
from timeline_telemetry.promql.syntax import PromQLError

from .promql import NAME, Evaluator, Sample
from .rules import AlertingRule, RecordingRule, RuleGroup
from .series import STALE_NAN, LayeredSource, MemorySource, SeriesSource
from .state import Alert, AlertState, RuleState

__all__ = ["FlapSettings", "RuleEngine"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlapSettings:
    """Flap damping: more than ``max_changes`` changes within ``window_s`` holds firing."""

    max_changes: int = 0
    window_s: float = 600.0


class RuleEngine:
    """All rules of ``groups`` over ``source``; generated series go to ``output``.

    ``resolve_exprs`` maps an alertname to its looser resolve condition (hysteresis).
    Not thread-safe: one evaluation thread owns it.
    """

    def __init__(
        self,
        groups: Sequence[RuleGroup],
        source: SeriesSource,
        *,
        output: MemorySource | None = None,
        flap: FlapSettings | None = None,
        resolve_exprs: Mapping[str, pp.Expr] | None = None,
    ) -> None:
        self.groups = list(groups)
        self.output = output if output is not None else MemorySource()
        src: SeriesSource = source if source is self.output else LayeredSource(
            source, self.output
        )
        self.evaluator = Evaluator(src)
        flap = flap or FlapSettings()
        self._resolve = dict(resolve_exprs or {})
        self.states: dict[tuple[int, int], RuleState] = {}
        self.errors: dict[str, str] = {}
        self._written: dict[tuple[int, int], set[Labels]] = {}
        for gi, g in enumerate(self.groups):
            for ri, r in enumerate(g.rules):
                if isinstance(r, AlertingRule):
                    self.states[(gi, ri)] = RuleState(
                        r, flap.max_changes, round(flap.window_s * 1000)
                    )

    def eval(self, t_ms: int) -> list[Alert]:
        """Evaluate every group at ``t_ms``; returns all alerts (any state)."""
        out: list[Alert] = []
        for gi, g in enumerate(self.groups):
            for ri, r in enumerate(g.rules):
                try:
                    series = self._eval_rule(gi, ri, r, t_ms, out)
                    self.errors.pop(r.name, None)
                except PromQLError as exc:
                    self.errors[r.name] = str(exc)
                    _log.warning("rule %s in group %s failed: %s", r.name, g.name, exc)
                    st = self.states.get((gi, ri))
                    if st is not None:
                        out.extend(st.active.values())
                    continue
                self._write(gi, ri, series, t_ms)
        return out

    def _eval_rule(
        self, gi: int, ri: int, r: AlertingRule | RecordingRule, t_ms: int, out: list[Alert]
    ) -> list[tuple[str, Labels, float]]:
        v = self.evaluator.instant(r.expr, t_ms)
        vec = [Sample((), v)] if isinstance(v, float) else v
        if isinstance(r, RecordingRule):
            rows = []
            for s in vec:
                lab = {k: x for k, x in s.labels if k != NAME}
                lab.update(r.labels)
                rows.append((r.name, tuple(sorted(lab.items())), s.value))
            return rows
        still: set[Labels] = set()
        rexpr = self._resolve.get(r.name)
        if rexpr is not None:
            rv = self.evaluator.instant(rexpr, t_ms)
            if not isinstance(rv, float):
                still = {tuple(kv for kv in s.labels if kv[0] != NAME) for s in rv}
        alerts = self.states[(gi, ri)].eval(t_ms, vec, still_true=still)
        out.extend(alerts)
        rows = []
        for a in alerts:
            if a.state is AlertState.INACTIVE:
                continue
            lab = dict(a.labels)
            lab["alertstate"] = a.state.value
            rows.append(("ALERTS", tuple(sorted(lab.items())), 1.0))
        return rows

    def _write(self, gi: int, ri: int, rows: list[tuple[str, Labels, float]], t_ms: int) -> None:
        now = set()
        for name, labels, value in rows:
            self.output.add(name, labels, t_ms, value)
            now.add((("__n", name), *labels))
        # Series that vanished get a staleness marker, as Prometheus writes.
        for key in self._written.get((gi, ri), set()) - now:
            self.output.add(key[0][1], key[1:], t_ms, STALE_NAN)
        self._written[(gi, ri)] = now

    def alerting_rules(self) -> list[AlertingRule]:
        """Every alerting rule, in file order."""
        return [s.rule for s in self.states.values()]

"""The life of the alerts of one alerting rule, as Prometheus' ``AlertingRule.Eval``.

inactive -> pending (condition true) -> firing (true for ``for``) -> resolved (condition
false, after ``keep_firing_for``); one alert per label set; resolved alerts are kept 15
minutes (so they can be sent as resolved). Two local extensions, both off by default:

* hysteresis: ``still_true`` holds the label sets (without ``__name__``) for which a
  separate, looser *resolve* condition still holds; a firing alert among them stays firing;
* flap damping: an alert whose condition flipped (true <-> false) more than
  ``flap_max_changes`` times within ``flap_window_ms`` is held firing and marked flapping
  until the flips within the window are back to ``flap_max_changes`` or fewer.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

from timeline_telemetry.metrics.model import Labels
from timeline_telemetry.promql.syntax import PromQLError

from .promql import NAME, Sample
from .rules import AlertingRule
from .templates import TemplateError, expand

__all__ = ["RESOLVED_RETENTION_MS", "Alert", "AlertState", "RuleState"]

RESOLVED_RETENTION_MS = 15 * 60_000


class AlertState(enum.Enum):
    """Prometheus' alert states (a resolved alert is ``INACTIVE`` with ``resolved_at_ms``)."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass
class Alert:
    """One alert instance; ``labels`` include ``alertname`` and the rule's labels."""

    labels: Labels
    annotations: dict[str, str]
    state: AlertState
    value: float
    active_at_ms: int
    fired_at_ms: int = 0
    resolved_at_ms: int = 0
    keep_firing_since_ms: int = 0
    flapping: bool = False
    source_key: Labels = ()

    @property
    def name(self) -> str:
        """The alertname label."""
        return dict(self.labels).get("alertname", "")

    def label(self, key: str) -> str:
        """One label ('' if absent)."""
        return dict(self.labels).get(key, "")


@dataclass
class RuleState:
    """The active alerts of ``rule``; :meth:`eval` advances them to time ``t_ms``."""

    rule: AlertingRule
    flap_max_changes: int = 0
    flap_window_ms: int = 0
    active: dict[Labels, Alert] = field(default_factory=dict)
    _changes: dict[Labels, deque[int]] = field(default_factory=dict)
    _present: set[Labels] = field(default_factory=set)

    def _labels_for(self, s: Sample) -> tuple[Labels, dict[str, str]]:
        base = {k: v for k, v in s.labels if k != NAME}
        try:
            extra = {k: expand(v, base, s.value) for k, v in self.rule.labels.items()}
            ann = {k: expand(v, base, s.value) for k, v in self.rule.annotations.items()}
        except TemplateError as exc:
            raise PromQLError(f"alert {self.rule.name}: template: {exc}") from None
        merged = {**base, **{k: v for k, v in extra.items()}, "alertname": self.rule.name}
        merged = {k: v for k, v in merged.items() if v != ""}
        return tuple(sorted(merged.items())), ann

    def _note_change(self, key: Labels, t_ms: int) -> None:
        if self.flap_max_changes <= 0:
            return
        q = self._changes.setdefault(key, deque())
        q.append(t_ms)
        self._trim(q, t_ms)

    def _trim(self, q: deque[int], t_ms: int) -> None:
        while q and q[0] <= t_ms - self.flap_window_ms:
            q.popleft()

    def _is_flapping(self, key: Labels, t_ms: int) -> bool:
        if self.flap_max_changes <= 0:
            return False
        q = self._changes.get(key)
        if not q:
            return False
        self._trim(q, t_ms)
        return len(q) > self.flap_max_changes

    def eval(
        self, t_ms: int, vector: list[Sample], *, still_true: Collection[Labels] = ()
    ) -> list[Alert]:
        """Advance to ``t_ms`` given the rule expression's result; returns the alerts
        (pending, firing, and resolved ones still retained)."""
        seen: set[Labels] = set()
        for s in vector:
            key, ann = self._labels_for(s)
            if key in seen:
                raise PromQLError(
                    f"alert {self.rule.name}: vector contains metrics with the same labelset "
                    "after applying alert labels"
                )
            seen.add(key)
            a = self.active.get(key)
            if a is not None and a.state is not AlertState.INACTIVE:
                a.value, a.annotations = s.value, ann
                continue
            self.active[key] = Alert(
                key, ann, AlertState.PENDING, s.value, t_ms,
                source_key=tuple(kv for kv in s.labels if kv[0] != NAME),
            )
        if self.flap_max_changes > 0:
            for key in seen ^ self._present:
                self._note_change(key, t_ms)
            self._present = seen
        hold_ms = round(self.rule.for_s * 1000)
        keep_ms = round(self.rule.keep_firing_for_s * 1000)
        for key, a in list(self.active.items()):
            if key in seen:
                a.keep_firing_since_ms = 0
                if a.state is AlertState.PENDING and t_ms - a.active_at_ms >= hold_ms:
                    a.state, a.fired_at_ms = AlertState.FIRING, t_ms
                if a.state is AlertState.FIRING:
                    a.flapping = self._is_flapping(key, t_ms)
                continue
            keep = False
            if a.state is AlertState.FIRING:
                if keep_ms > 0:
                    if not a.keep_firing_since_ms:
                        a.keep_firing_since_ms = t_ms
                    keep = t_ms - a.keep_firing_since_ms < keep_ms
                if a.source_key in still_true:
                    keep = True
                if self._is_flapping(key, t_ms):
                    keep = a.flapping = True
                else:
                    a.flapping = False
            if a.state is AlertState.PENDING or (
                a.resolved_at_ms and t_ms - a.resolved_at_ms > RESOLVED_RETENTION_MS
            ):
                del self.active[key]
            if a.state is not AlertState.INACTIVE and not keep:
                a.state, a.resolved_at_ms = AlertState.INACTIVE, t_ms
        return list(self.active.values())

    def restart_pending(self, t_ms: int) -> int:
        """Pending alerts start their ``for`` again at ``t_ms`` (after a suspend or a
        clock step: the time the machine slept is not time the condition held). Returns
        how many."""
        n = 0
        for a in self.active.values():
            if a.state is AlertState.PENDING:
                a.active_at_ms = t_ms
                n += 1
        return n

    def firing(self) -> list[Alert]:
        """The alerts currently firing."""
        return [a for a in self.active.values() if a.state is AlertState.FIRING]

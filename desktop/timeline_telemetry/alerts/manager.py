"""AlertManager: evaluates the rules when the runtime's scheduler says (every
``interval_s``, sooner on a health transition), tracks transitions, applies silences (timed,
and the render/export silence), cooldowns and storm coalescing, records history, publishes
``alerts_firing`` and ``ALERTS``, and hands notifications to the action queues (which
deliver off this thread)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import promql_parser as pp

from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.history.model import LabelMatcher
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.metrics.model import Labels, MetricKind
from timeline_telemetry.promql.syntax import PromQLError

from .actions.base import ActionQueue, AlertItem, Notification
from .design_api import AlertRule
from .engine import FlapSettings, RuleEngine
from .ledger import ActionPolicy, DeliveryLedger, Want
from .notify import StormSettings, build_notifications
from .prom_api import alerts_data, rules_data
from .rules import AlertingRule, RuleGroup
from .series import SeriesSource
from .state import Alert, AlertState, RuleState
from .store import AlertEvent, AlertStore, Silence

__all__ = ["AlertManager", "RenderSilence", "RulePolicy"]

_log = logging.getLogger(__name__)
_OUTPUT_KEEP_MS = 3_600_000
_UNSENT = -1.0  # the alert store's notified_at of a firing no action heard


def _or_unsent(t: float | None) -> float:
    return _UNSENT if t is None else t


@dataclass(frozen=True)
class RulePolicy:
    """Per-rule notification policy: ``cooldown_s``: at least this long between two
    *new* firing notifications of one alert to one action (a re-fire inside it is
    notified when it ends, if still firing; never dropped); ``actions``: names of the
    actions to use (None = every configured action)."""

    cooldown_s: float = 0.0
    actions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RenderSilence:
    """While ``expr`` returns anything (the editor renders/exports), alerts matching every
    one of ``matchers`` notify nobody: high CPU during a render is expected."""

    expr: pp.Expr
    matchers: tuple[LabelMatcher, ...] = field(default_factory=tuple)


class AlertManager:
    """See the module docstring. ``source`` is where the rules read samples (the history);
    ``actions`` maps an action name to its queue; ``store`` keeps history and silences."""

    def __init__(
        self,
        groups: Sequence[RuleGroup],
        source: SeriesSource,
        *,
        metrics: Metrics,
        actions: Mapping[str, ActionQueue] | None = None,
        store: AlertStore | None = None,
        interval_s: float = 15.0,
        clock: Callable[[], float] = time.time,
        policies: Mapping[str, RulePolicy] | None = None,
        flap: FlapSettings | None = None,
        resolve_exprs: Mapping[str, pp.Expr] | None = None,
        render_silence: RenderSilence | None = None,
        storm: StormSettings | None = None,
        action_policies: Mapping[str, ActionPolicy] | None = None,
    ) -> None:
        self._groups = list(groups)
        self._source = source
        self._metrics = metrics
        self._actions = dict(actions or {})
        self._store = store
        self._interval = interval_s
        self._clock = clock
        self._policies = dict(policies or {})
        self._flap = flap or FlapSettings()
        self._resolve = dict(resolve_exprs or {})
        self._render = render_silence
        self._storm = storm or StormSettings()
        self._engine: RuleEngine | None = None
        self._lock = threading.RLock()
        # ``action_policies``: per action name, repeat interval / Alertmanager re-send
        # (an action without one is notified on changes only).
        self._action_policies = dict(action_policies or {})
        self._ledger = DeliveryLedger()        # what each action last heard, per alert
        self._silenced_firing: set[Labels] = set()  # firing that began muted: never sent
        self._firing: set[Labels] = set()
        self._silences: list[Silence] = []
        self._last_eval: float | None = None
        self._eval_took = 0.0
        self.evaluations = 0
        self._evals_cv = threading.Condition()
        self.render_active = False

    # -- configuration ------------------------------------------------------------------
    def add_rule(self, rule: AlertRule | AlertingRule, *, policy: RulePolicy | None = None,
                 kinds: Mapping[str, MetricKind] | None = None) -> None:
        """Add one rule (the design document's ``AlertRule`` or a Prometheus one) to a group
        ``api``."""
        if isinstance(rule, AlertRule):
            policy = policy or RulePolicy(rule.cooldown, None)
            rule = rule.to_alerting_rule(kinds)
        with self._lock:
            self._groups.append(RuleGroup("api", "<api>", (rule,)))
            if policy is not None:
                self._policies[rule.name] = policy
            self._engine = None

    def reload_rules(
        self,
        groups: Sequence[RuleGroup],
        *,
        policies: Mapping[str, RulePolicy] | None = None,
        resolve_exprs: Mapping[str, pp.Expr] | None = None,
    ) -> None:
        """Swap in ``groups`` (a reload), as Prometheus does: an alerting rule with the same
        name and labels as before keeps its alerts (pending, firing, ``for`` progress, flap
        history) even if its expression changed; alerts of rules that went away are
        dropped. Rules added with :meth:`add_rule` stay. ``policies`` and ``resolve_exprs``
        replace the file rules' ones when given. Recording-rule and ``ALERTS`` output is
        kept, so range selectors over it go on. Waits for a running evaluation."""
        with self._lock:
            api = [g for g in self._groups if g.file == "<api>"]
            self._groups = [*groups, *api]
            if policies is not None:
                api_names = {r.name for g in api for r in g.rules}
                self._policies = {**{k: v for k, v in self._policies.items()
                                     if k in api_names}, **policies}
            if resolve_exprs is not None:
                self._resolve = dict(resolve_exprs)
            old = self._engine
            if old is None:  # never evaluated: the first evaluation builds (and restores)
                return
            engine = RuleEngine(self._groups, self._source, output=old.output,
                                flap=self._flap, resolve_exprs=self._resolve)
            previous: dict[tuple[str, Labels], list[RuleState]] = {}
            for st in old.states.values():
                previous.setdefault(_rule_key(st.rule), []).append(st)
            for key, st in engine.states.items():
                same = previous.get(_rule_key(st.rule))
                if same:
                    engine.states[key] = replace(same.pop(0), rule=st.rule,
                                                 flap_max_changes=st.flap_max_changes,
                                                 flap_window_ms=st.flap_window_ms)
            dropped = sorted({a.name for rest in previous.values() for st in rest
                              for a in st.firing()})
            if dropped:
                _log.info("reload: alerts of removed rules dropped: %s", ", ".join(dropped))
            self._engine = engine

    def reload_actions(
        self,
        actions: Mapping[str, ActionQueue],
        action_policies: Mapping[str, ActionPolicy],
        *,
        interval_s: float,
        storm: StormSettings,
        flap: FlapSettings,
        render_silence: RenderSilence | None,
    ) -> list[ActionQueue]:
        """Swap in the actions and settings of a reloaded ``telemetry.alerts``. A queue
        that stays (the same object) keeps what its action heard; a new one is started and
        its action hears the alerts firing now at the next evaluation; the replaced and
        removed queues are returned, for the caller to shut down (delivering what they
        hold) outside the evaluation lock. ``flap`` applies from the next rule reload."""
        with self._lock:
            old = self._actions
            kept = {id(q) for q in actions.values()}
            gone = [q for q in old.values() if id(q) not in kept]
            for name, q in old.items():
                if actions.get(name) is not q:
                    self._ledger.forget(name)
            running = {id(q) for q in old.values()}
            for q in actions.values():
                if id(q) not in running:
                    q.start()
            self._actions = dict(actions)
            self._action_policies = dict(action_policies)
            self._interval = interval_s
            self._storm = storm
            self._flap = flap
            self._render = render_silence
            if render_silence is None:
                self.render_active = False
        return gone

    def _get_engine(self) -> RuleEngine:
        if self._engine is None:
            self._engine = RuleEngine(self._groups, self._source, flap=self._flap,
                                      resolve_exprs=self._resolve)
            self._restore(self._engine)
        return self._engine

    # -- silences -----------------------------------------------------------------------
    def add_silence(self, matchers: Sequence[LabelMatcher], *, ends_at: float,
                    starts_at: float | None = None, created_by: str = "",
                    comment: str = "") -> Silence:
        """Mute alerts matching ``matchers`` until ``ends_at`` (persisted with a store)."""
        start = self._clock() if starts_at is None else starts_at
        if self._store is not None:
            return self._store.add_silence(matchers, starts_at=start, ends_at=ends_at,
                                           created_by=created_by, comment=comment)
        s = Silence(str(len(self._silences) + 1), tuple(matchers), start, ends_at,
                    created_by, comment)
        with self._lock:
            self._silences.append(s)
        return s

    def silences(self, now: float | None = None) -> list[Silence]:
        """Silences not yet ended (at ``now``, default the clock)."""
        now = self._clock() if now is None else now
        if self._store is not None:
            return self._store.silences(now)
        return [s for s in self._silences if s.ends_at > now]

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, now: float | None = None) -> list[Notification]:
        """One evaluation at ``now``; returns the notifications it queued."""
        started = time.perf_counter()
        with self._lock:
            t = self._clock() if now is None else now
            engine = self._get_engine()
            alerts = engine.eval(round(t * 1000))
            # Recording-rule and ALERTS output lives in memory: keep what range selectors
            # can still reach (an hour), not everything since start.
            engine.output.prune(round(t * 1000) - _OUTPUT_KEEP_MS)
            self.render_active = self._render_active(engine, t)
            silences = self.silences(t)
            wants, events = self._transitions(alerts, t, silences)
            notes = self._deliver(wants, t, silences)
            self._publish(alerts)
            if self._store is not None:
                self._store.record(events)
                if events:
                    self._save_active(alerts)
            self._last_eval = t
            self._eval_took = time.perf_counter() - started
        with self._evals_cv:
            self.evaluations += 1
            self._evals_cv.notify_all()
        return notes

    def restart_pending(self, now: float | None = None) -> int:
        """Pending alerts' ``for`` timers start again at ``now`` (the runtime calls this
        after a detected suspend or wall-clock step). Returns how many were pending."""
        with self._lock:
            if self._engine is None:
                return 0
            t_ms = round((self._clock() if now is None else now) * 1000)
            return sum(st.restart_pending(t_ms) for st in self._engine.states.values())

    def wait_for_evaluations(self, n: int, timeout_s: float) -> bool:
        """Block until ``n`` evaluations completed; False on timeout (tools and tests)."""
        with self._evals_cv:
            return self._evals_cv.wait_for(lambda: self.evaluations >= n, timeout_s)

    def _render_active(self, engine: RuleEngine, t: float) -> bool:
        if self._render is None:
            return False
        try:
            v = engine.evaluator.instant(self._render.expr, round(t * 1000))
        except PromQLError as exc:
            _log.warning("render silence expression failed: %s", exc)
            return False
        return bool(v) if not isinstance(v, float) else not math.isnan(v) and v != 0

    def _muted(self, labels: Mapping[str, str], t: float, silences: Sequence[Silence]) -> bool:
        if any(s.mutes(labels, t) for s in silences):
            return True
        return self.render_active and self._render is not None and all(
            m.matches(labels) for m in self._render.matchers)

    def _transitions(
        self, alerts: Sequence[Alert], t: float, silences: Sequence[Silence]
    ) -> tuple[dict[Labels, Want], list[AlertEvent]]:
        """The history events of this evaluation, and each alert's state as the actions
        should know it (firing, or resolved while the rule retains it; pending ones are
        left out: to an action that heard them firing they count as resolved)."""
        wants: dict[Labels, Want] = {}
        events: list[AlertEvent] = []
        now_firing = {a.labels for a in alerts if a.state is AlertState.FIRING}
        for a in alerts:
            key, lab = a.labels, dict(a.labels)
            firing = a.state is AlertState.FIRING
            if not firing and not a.resolved_at_ms:
                continue
            muted = self._muted(lab, t, silences)
            if firing != (key in self._firing):
                kind = ("silenced" if muted else "firing") if firing else "resolved"
                events.append(AlertEvent(t, a.name, lab, kind, a.value, dict(a.annotations)))
                # A firing that began under a silence stays unnotified until it resolves
                # (a render's expected CPU spike is not news when the render ends).
                if firing and muted:
                    self._silenced_firing.add(key)
            if not firing:
                self._silenced_firing.discard(key)
            item = AlertItem(lab, dict(a.annotations), "firing" if firing else "resolved",
                             a.active_at_ms / 1000, None if firing else a.resolved_at_ms / 1000,
                             a.value, a.flapping)
            policy = self._policies.get(a.name, RulePolicy())
            wants[key] = Want(a.name, item, muted or key in self._silenced_firing,
                              policy.cooldown_s)
        self._silenced_firing &= now_firing
        self._firing = now_firing
        return wants, events

    def _deliver(self, wants: Mapping[Labels, Want], t: float,
                 silences: Sequence[Silence]) -> list[Notification]:
        """Bring every action up to date (see :mod:`.ledger`): plan per action, coalesce
        storms, queue; only what a queue accepted counts as heard, so a notification
        dropped by a full queue is planned again at the next evaluation."""
        out: list[Notification] = []
        for name, q in self._actions.items():
            def targets(rule: str, name: str = name) -> bool:
                acts = self._policies.get(rule, RulePolicy()).actions
                return acts is None or name in acts

            planned = self._ledger.plan(
                name, self._action_policies.get(name, ActionPolicy()), wants, t,
                interval_s=self._interval, targets=targets,
                is_muted=lambda labels: self._muted(labels, t, silences))
            if not planned:
                continue
            by_fp = {p.item.fingerprint + p.item.status: p for p in planned}
            group_by = self._action_policies.get(name, ActionPolicy()).group_by
            for n in build_notifications([(p.rule, p.item) for p in planned], self._storm,
                                         group_by):
                if q.submit(n):
                    self._ledger.record(
                        name, [by_fp[a.fingerprint + a.status] for a in n.alerts], t)
                    out.append(n)
                else:
                    _log.warning("alert action %s dropped a notification (queue full); "
                                 "it is retried at the next evaluation", name)
        return out

    def _publish(self, alerts: Sequence[Alert]) -> None:
        counts: dict[Labels, float] = {}
        series: list[tuple[Labels, float]] = []
        for a in alerts:
            if a.state is AlertState.INACTIVE:
                continue
            if a.state is AlertState.FIRING:
                k = (("alertname", a.name), ("severity", a.label("severity")))
                counts[k] = counts.get(k, 0.0) + 1
            lab = dict(a.labels)
            lab["alertstate"] = a.state.value
            series.append((tuple(sorted(lab.items())), 1.0))
        for rule in self._get_engine().alerting_rules():
            k = (("alertname", rule.name), ("severity", rule.labels.get("severity", "")))
            counts.setdefault(k, 0.0)
        self._metrics.replace_series("alerts_firing", MetricKind.GAUGE, list(counts.items()))
        self._metrics.replace_series("ALERTS", MetricKind.GAUGE, series)

    # -- persistence --------------------------------------------------------------------
    def _save_active(self, alerts: Sequence[Alert]) -> None:
        assert self._store is not None
        rows = [(dict(a.labels), a.active_at_ms / 1000, a.fired_at_ms / 1000,
                 _or_unsent(self._ledger.last_fired(a.labels)))
                for a in alerts if a.state is AlertState.FIRING]
        self._store.save_active(rows)

    def _restore(self, engine: RuleEngine) -> None:
        if self._store is None:
            return
        by_name = {st.rule.name: st for st in engine.states.values()}
        for labels, active_at, fired_at, notified_at in self._store.load_active():
            st = by_name.get(labels.get("alertname", ""))
            if st is None:
                continue
            key = tuple(sorted(labels.items()))
            src = tuple(kv for kv in key if kv[0] != "alertname" and kv[0] not in st.rule.labels)
            st.active[key] = Alert(key, {}, AlertState.FIRING, 0.0, round(active_at * 1000),
                                   round(fired_at * 1000), source_key=src)
            self._firing.add(key)
            if notified_at >= 0:  # _UNSENT: no action had heard it (cooldown, silence)
                item = AlertItem(dict(key), {}, "firing", active_at, None)
                actions = [n for n in self._actions
                           if (acts := self._policies.get(st.rule.name, RulePolicy()).actions)
                           is None or n in acts]
                self._ledger.restore(actions, st.rule.name, key, item, notified_at)

    # -- lifecycle ----------------------------------------------------------------------
    def firing(self) -> list[Alert]:
        """Alerts firing after the last evaluation."""
        with self._lock:
            eng = self._get_engine()
            return [a for st in eng.states.values() for a in st.firing()]

    def history(self, limit: int = 200) -> list[AlertEvent]:
        """Recent alert events, newest first (empty without a store)."""
        if self._store is None:
            return []
        return sorted(self._store.events(limit=limit), key=lambda e: e.ts, reverse=True)

    def to_json(self, *, history_limit: int = 500) -> dict[str, object]:
        """Active alerts, recent history, silences and rule errors as plain JSON values
        (the diagnostics bundle's ``alerts.json``)."""
        now = self._clock()
        return {
            "active": [
                {
                    "labels": dict(a.labels),
                    "annotations": dict(a.annotations),
                    "state": a.state.value,
                    "value": a.value,
                    "active_at": a.active_at_ms / 1000.0,
                    "flapping": a.flapping,
                }
                for a in self.firing()
            ],
            "history": [
                {
                    "ts": e.ts,
                    "alertname": e.alertname,
                    "labels": dict(e.labels),
                    "event": e.event,
                    "value": e.value,
                    "annotations": dict(e.annotations),
                }
                for e in self.history(history_limit)
            ],
            "silences": [
                {
                    "id": si.id,
                    "matchers": [f"{m.name}{m.op}{m.value!r}" for m in si.matchers],
                    "starts_at": si.starts_at,
                    "ends_at": si.ends_at,
                    "created_by": si.created_by,
                    "comment": si.comment,
                }
                for si in self.silences(now)
            ],
            "rule_errors": self.errors(),
        }

    def errors(self) -> dict[str, str]:
        """Rules whose last evaluation failed, with the error."""
        with self._lock:
            return dict(self._get_engine().errors)

    def action_status(self) -> dict[str, ExportStatus]:
        """Each alert action's delivery status, by action name."""
        return {name: q.status() for name, q in self._actions.items()}

    @property
    def actions(self) -> dict[str, ActionQueue]:
        """The action queues, by action name."""
        return dict(self._actions)

    @property
    def interval_s(self) -> float:
        """How often the runtime evaluates the rules."""
        return self._interval

    @property
    def store(self) -> AlertStore | None:
        """The alert store (history, firing set, silences); None without one."""
        return self._store

    def prometheus_alerts(self) -> dict[str, object]:
        """The ``data`` of Prometheus's ``GET /api/v1/alerts``."""
        with self._lock:
            return alerts_data(self._get_engine())

    def prometheus_rules(self) -> dict[str, object]:
        """The ``data`` of Prometheus's ``GET /api/v1/rules``."""
        with self._lock:
            return rules_data(self._get_engine(), default_interval_s=self._interval,
                              last_evaluation=self._last_eval, evaluation_s=self._eval_took)

    def start(self) -> None:
        """Start the action queues (delivery runs on their own workers)."""
        for q in self._actions.values():
            q.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Deliver queued notifications until ``timeout_s``, save the firing set and close
        the alert store (the runtime has stopped evaluating by then)."""
        deadline = time.monotonic() + timeout_s
        for q in self._actions.values():
            q.shutdown(max(0.1, deadline - time.monotonic()))
        if self._store is not None:
            with self._lock:
                if self._engine is not None:
                    self._save_active([a for st in self._engine.states.values()
                                       for a in st.active.values()])
            self._store.close()


def _rule_key(rule: AlertingRule) -> tuple[str, Labels]:
    """What identifies a rule across a reload (Prometheus: its name and labels)."""
    return rule.name, tuple(sorted(rule.labels.items()))

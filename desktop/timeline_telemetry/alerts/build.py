"""Building an :class:`AlertManager` from ``telemetry.alerts`` (the manager's wiring)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pp

from timeline_telemetry.config.schema import (
    AlertmanagerActionConfig,
    AlertsConfig,
    EmailActionConfig,
    PagerDutyActionConfig,
    WebhookActionConfig,
)
from timeline_telemetry.config.secrets import KeyringGet, resolve_secret
from timeline_telemetry.history.model import LabelMatcher
from timeline_telemetry.history.store import HistoryStore
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.promql.syntax import parse

from .actions import (
    ActionQueue,
    ActionSender,
    AlertmanagerSender,
    EmailSender,
    LoggingNotifier,
    Notifier,
    NotifierSender,
    PagerDutySender,
    WebhookSender,
)
from .engine import FlapSettings
from .ledger import ActionPolicy
from .manager import AlertManager, RenderSilence, RulePolicy
from .notify import StormSettings
from .rules import RuleGroup, load_rule_files
from .series import HistorySource, SeriesSource
from .store import AlertStore

__all__ = [
    "SHIPPED_RULES",
    "ActionSettings",
    "RuleSet",
    "build_action_settings",
    "build_alert_manager",
    "build_rule_set",
    "rule_files",
]

#: The design document's five rules, shipped as package data (a byte-identical copy of
#: ``resources/prometheus/alert_rules.yml``; a test fails if the two drift), so a wheel,
#: an editable install and the PyInstaller build all find them.
SHIPPED_RULES = Path(__file__).resolve().parent / "rules" / "alert_rules.yml"


def rule_files(cfg: AlertsConfig) -> list[Path]:
    """The configured rule files (the shipped one when ``rule_files`` is null)."""
    return list(cfg.rule_files) if cfg.rule_files is not None else [SHIPPED_RULES]


@dataclass(frozen=True)
class RuleSet:
    """What ``telemetry.alerts`` says about the rules: the groups read from ``files``, each
    rule's notification policy and resolve condition. Built at start and on every reload."""

    files: tuple[Path, ...]
    groups: tuple[RuleGroup, ...]
    policies: Mapping[str, RulePolicy] = field(default_factory=dict)
    resolve_exprs: Mapping[str, pp.Expr] = field(default_factory=dict)

    @property
    def rule_count(self) -> int:
        """How many rules (alerting and recording) the groups hold."""
        return sum(len(g.rules) for g in self.groups)


def build_rule_set(cfg: AlertsConfig) -> RuleSet:
    """Read the rule files ``cfg`` names (through the safe loader) with the per-rule
    policies. Raises ``RuleFileError`` (every problem, one ``file:line:column: ...`` line
    each) or ``PromQLError`` for a bad ``resolve_condition``; reads nothing else."""
    files = tuple(rule_files(cfg))
    groups = tuple(load_rule_files(list(files)))
    policies = {r.alert: RulePolicy(r.cooldown, r.actions) for r in cfg.rules}
    resolve_exprs = {r.alert: parse(r.resolve_condition) for r in cfg.rules
                     if r.resolve_condition}
    return RuleSet(files, groups, policies, resolve_exprs)


def _sender(a: object, resolve: Callable[[str], str]) -> ActionSender:
    if isinstance(a, EmailActionConfig):
        return EmailSender(host=a.host, port=a.port, sender=a.sender, recipients=a.recipients,
                           subject=a.subject, resolve=resolve, username=a.username,
                           password=a.password, security=a.security, name=a.name,
                           group_by=a.group_by)
    if isinstance(a, WebhookActionConfig):
        return WebhookSender(a.url, resolve=resolve, payload=dict(a.payload),
                             body_format=a.format, name=a.name)
    if isinstance(a, PagerDutyActionConfig):
        return PagerDutySender(a.routing_key, resolve=resolve, description=a.description,
                               url=a.url, name=a.name, group_by=a.group_by)
    if isinstance(a, AlertmanagerActionConfig):
        return AlertmanagerSender(a.url, resolve=resolve, name=a.name)
    raise TypeError(f"unknown action config {a!r}")


def _action_policy(a: object, cfg: AlertsConfig) -> ActionPolicy:
    """Alertmanager mirrors state (re-sent every ``resend_delay``); the others notify,
    repeating a still-firing alert after their ``repeat_interval``."""
    if isinstance(a, AlertmanagerActionConfig):
        return ActionPolicy(resend_delay_s=cfg.resend_delay)
    return ActionPolicy(repeat_interval_s=float(getattr(a, "repeat_interval", 0.0)),
                        group_by=getattr(a, "group_by", None))


def build_alert_manager(
    cfg: AlertsConfig,
    *,
    metrics: Metrics,
    history: HistoryStore | None = None,
    source: SeriesSource | None = None,
    data_dir: Path,
    notifier: Notifier | None = None,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
    clock: Callable[[], float] = time.time,
) -> AlertManager:
    """An unstarted manager. Raises ``RuleFileError`` for unusable rule files (the message
    lists every problem). ``source`` overrides reading the ``history`` (tests). ``clock``:
    the agent's step-corrected clock, so ``for`` timers and evaluation times match the
    history's stamps."""
    rules = build_rule_set(cfg)
    if source is None:
        if history is None:
            raise ValueError("alerts need the metric history (metrics.history.enabled)")
        source = HistorySource(history)

    settings = build_action_settings(cfg, metrics=metrics, notifier=notifier, environ=environ,
                                     keyring_get=keyring_get)
    store = AlertStore(cfg.history_path or data_dir / "alerts.sqlite3")
    return AlertManager(
        rules.groups, source, metrics=metrics, actions=settings.actions, store=store,
        interval_s=settings.interval_s, policies=rules.policies, flap=settings.flap,
        resolve_exprs=rules.resolve_exprs, render_silence=settings.render_silence,
        storm=settings.storm, action_policies=settings.action_policies, clock=clock,
    )


@dataclass(frozen=True)
class ActionSettings:
    """The part of ``telemetry.alerts`` besides the rules that a reload applies: the action
    queues and their policies, the cadence, storm, flap and render-silence settings."""

    actions: Mapping[str, ActionQueue]
    action_policies: Mapping[str, ActionPolicy]
    interval_s: float
    storm: StormSettings
    flap: FlapSettings
    render_silence: RenderSilence | None


def _action_specs(cfg: AlertsConfig) -> dict[str, object]:
    """Each action's name and the config its sender is built from."""
    specs: dict[str, object] = {"desktop": "desktop"} if cfg.desktop_notifications else {}
    specs.update((a.name, a) for a in cfg.actions)
    return specs


def build_action_settings(
    cfg: AlertsConfig,
    *,
    metrics: Metrics,
    notifier: Notifier | None = None,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
    running: Mapping[str, ActionQueue] | None = None,
    previous: AlertsConfig | None = None,
) -> ActionSettings:
    """The actions and settings ``cfg`` describes. On a reload, ``running`` are the current
    queues and ``previous`` the config they were built from: an action whose config did not
    change keeps its running queue; new and changed ones get a new, unstarted queue."""

    def resolve(value: str) -> str:
        return resolve_secret(value, environ=environ, keyring_get=keyring_get)

    old = _action_specs(previous) if previous is not None else {}
    actions: dict[str, ActionQueue] = {}
    action_policies: dict[str, ActionPolicy] = {}
    for name, spec in _action_specs(cfg).items():
        q = (running or {}).get(name)
        if q is None or old.get(name) != spec:
            sender = (NotifierSender(notifier or LoggingNotifier()) if spec == "desktop"
                      else _sender(spec, resolve))
            q = ActionQueue(sender, metrics=metrics)
        actions[name] = q
        action_policies[name] = (ActionPolicy(repeat_interval_s=cfg.desktop_repeat_interval)
                                 if spec == "desktop" else _action_policy(spec, cfg))
    render = None
    rs = cfg.render_silence
    if rs.enabled:
        pattern = "|".join(rs.alerts) if rs.alerts else ".*"
        render = RenderSilence(parse(rs.condition), (LabelMatcher("alertname", "=~", pattern),))
    return ActionSettings(
        actions, action_policies, cfg.evaluation_interval,
        StormSettings(cfg.storm.per_rule, cfg.storm.max_per_eval),
        FlapSettings(cfg.flap.max_changes, cfg.flap.window), render)

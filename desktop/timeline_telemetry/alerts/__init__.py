"""Alerting: Prometheus rule files (and the design document's ``AlertRule``) evaluated over the
local history with a PromQL evaluator, the alert lifecycle, silences, and notification actions.

Entry points: :class:`AlertManager`, :func:`load_rule_files`, :func:`run_rules_check`,
:func:`run_rules_test`, :func:`build_alert_manager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .build import SHIPPED_RULES, build_alert_manager
    from .cli import run_rules_check, run_rules_test
    from .design_api import AlertRule, AlertSeverity, translate_condition
    from .engine import FlapSettings, RuleEngine
    from .ledger import ActionPolicy
    from .manager import AlertManager, RenderSilence, RulePolicy
    from .notify import StormSettings
    from .promql import Evaluator
    from .rules import AlertingRule, RecordingRule, RuleFileError, RuleGroup, load_rule_files
    from .series import HistorySource, MemorySource
    from .state import Alert, AlertState
    from .store import AlertStore, Silence

__all__ = [
    "SHIPPED_RULES",
    "ActionPolicy",
    "Alert",
    "AlertManager",
    "AlertRule",
    "AlertSeverity",
    "AlertState",
    "AlertStore",
    "AlertingRule",
    "Evaluator",
    "FlapSettings",
    "HistorySource",
    "MemorySource",
    "RecordingRule",
    "RenderSilence",
    "RuleEngine",
    "RuleFileError",
    "RuleGroup",
    "RulePolicy",
    "Silence",
    "StormSettings",
    "build_alert_manager",
    "load_rule_files",
    "run_rules_check",
    "run_rules_test",
    "translate_condition",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "SHIPPED_RULES": ".build",
    "build_alert_manager": ".build",
    "run_rules_check": ".cli",
    "run_rules_test": ".cli",
    "FlapSettings": ".engine",
    "RuleEngine": ".engine",
    "ActionPolicy": ".ledger",
    "AlertManager": ".manager",
    "RenderSilence": ".manager",
    "RulePolicy": ".manager",
    "StormSettings": ".notify",
    "Evaluator": ".promql",
    "AlertingRule": ".rules",
    "RecordingRule": ".rules",
    "RuleFileError": ".rules",
    "RuleGroup": ".rules",
    "load_rule_files": ".rules",
    "AlertRule": ".design_api",
    "AlertSeverity": ".design_api",
    "translate_condition": ".design_api",
    "HistorySource": ".series",
    "MemorySource": ".series",
    "Alert": ".state",
    "AlertState": ".state",
    "AlertStore": ".store",
    "Silence": ".store",
})

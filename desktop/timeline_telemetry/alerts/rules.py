"""Prometheus rule files: ``groups[].rules[]`` of ``alert`` and ``record`` rules.

:func:`load_rule_files` parses and validates like ``promtool check rules`` (unknown keys,
duplicate group names, bad durations, unparsable PromQL, bad templates) and additionally
refuses PromQL constructs the local evaluator does not implement, naming rule and construct.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pp
import yaml

from timeline_telemetry.promql.syntax import PromQLError, check_supported, parse

from .templates import TemplateError, check_template

__all__ = [
    "AlertingRule",
    "RecordingRule",
    "RuleFileError",
    "RuleGroup",
    "load_rule_file",
    "load_rule_files",
    "parse_prom_duration",
]

_DUR = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_DUR_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class RuleFileError(Exception):
    """A rule file is unusable; ``errors`` lists every problem found (one line each)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def parse_prom_duration(text: object) -> float:
    """A Prometheus duration (``1h30m``, ``90s``, ``500ms``, ``0``) in seconds."""
    s = str(text).strip()
    if s == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"not a valid duration string: {s!r}")
    return total


@dataclass(frozen=True)
class AlertingRule:
    """An ``alert:`` rule (``for_s``/``keep_firing_for_s`` in seconds)."""

    name: str
    expr_text: str
    expr: pp.Expr = field(compare=False, repr=False)
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingRule:
    """A ``record:`` rule: its result is stored as series ``name``."""

    name: str
    expr_text: str
    expr: pp.Expr = field(compare=False, repr=False)
    labels: Mapping[str, str] = field(default_factory=dict)


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True)
class RuleGroup:
    """A group: rules evaluated in order every ``interval_s`` (None = the global interval)."""

    name: str
    file: str
    rules: tuple[Rule, ...]
    interval_s: float | None = None
    limit: int = 0


_GROUP_KEYS = {"name", "interval", "rules", "limit", "query_offset"}
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


def _str_map(v: object, what: str, errs: list[str]) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        errs.append(f"{what}: must be a mapping")
        return {}
    out = {}
    for k, x in v.items():
        if not _LABEL_NAME.match(str(k)):
            errs.append(f"{what}: invalid label name: {k}")
        out[str(k)] = "" if x is None else str(x)
    return out


def _load_rule(raw: object, where: str, errs: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        errs.append(f"{where}: a rule must be a mapping")
        return None
    for k in raw:
        if k not in _RULE_KEYS:
            errs.append(f"{where}: field {k} not found in type rulefmt.RuleNode")
    alert, record = raw.get("alert"), raw.get("record")
    name = str(alert if alert is not None else record or "")
    label = f"{where}: {'alert' if alert is not None else 'record'}={name!r}"
    if (alert is None) == (record is None):
        errs.append(f"{where}: one of 'record' or 'alert' must be set")
        return None
    expr_text = raw.get("expr")
    if not isinstance(expr_text, (str, int, float)) or str(expr_text).strip() == "":
        errs.append(f"{label}: field 'expr' must be set in rule")
        return None
    try:
        expr = parse(str(expr_text))
        check_supported(expr)
    except PromQLError as exc:
        errs.append(f"{label}: could not parse expression: {exc}" if "parse" in str(exc)
                    else f"{label}: {exc} is not supported by the local evaluator")
        return None
    labels = _str_map(raw.get("labels"), f"{label}: labels", errs)
    if record is not None:
        if "for" in raw or "annotations" in raw or "keep_firing_for" in raw:
            errs.append(f"{label}: invalid field 'for'/'annotations' in recording rule")
        if not _METRIC_NAME.match(name):
            errs.append(f"{label}: invalid recording rule name: {name}")
        return RecordingRule(name, str(expr_text), expr, labels)
    annotations = _str_map(raw.get("annotations"), f"{label}: annotations", errs)
    for k, text in [*labels.items(), *annotations.items()]:
        try:
            check_template(text)
        except TemplateError as exc:
            errs.append(f"{label}: template {k}: {exc}")
    try:
        for_s = parse_prom_duration(raw.get("for", "0"))
        keep_s = parse_prom_duration(raw.get("keep_firing_for", "0"))
    except ValueError as exc:
        errs.append(f"{label}: {exc}")
        return None
    return AlertingRule(name, str(expr_text), expr, for_s, keep_s, labels, annotations)


def load_rule_file(path: Path) -> list[RuleGroup]:
    """Parse one rule file; raises :class:`RuleFileError` listing every problem."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError([f"{path}: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise RuleFileError([f"{path}: yaml: {exc}"]) from None
    errs: list[str] = []
    groups: list[RuleGroup] = []
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"groups"}:
        raise RuleFileError([f"{path}: a rule file is a mapping with only 'groups'"])
    seen: set[str] = set()
    for gi, g in enumerate(doc.get("groups") or []):
        if not isinstance(g, dict):
            errs.append(f"{path}: group {gi}: must be a mapping")
            continue
        gname = str(g.get("name") or "")
        where = f"{path}: group {gname!r}"
        if not gname:
            errs.append(f"{path}: group {gi}: groupname must not be empty")
        elif gname in seen:
            errs.append(f"{where}: repeated in the same file")
        seen.add(gname)
        for k in g:
            if k not in _GROUP_KEYS:
                errs.append(f"{where}: field {k} not found in type rulefmt.RuleGroup")
        interval: float | None = None
        if g.get("interval") is not None:
            try:
                interval = parse_prom_duration(g["interval"])
            except ValueError as exc:
                errs.append(f"{where}: {exc}")
        rules = []
        for ri, raw in enumerate(g.get("rules") or []):
            rule = _load_rule(raw, f"{where}: rule {ri}", errs)
            if rule is not None:
                rules.append(rule)
        groups.append(RuleGroup(gname, str(path), tuple(rules), interval, int(g.get("limit") or 0)))
    if errs:
        raise RuleFileError(errs)
    return groups


def load_rule_files(paths: Sequence[Path]) -> list[RuleGroup]:
    """Every group of every file, in order; problems from all files are reported together."""
    errs: list[str] = []
    out: list[RuleGroup] = []
    for p in paths:
        try:
            out.extend(load_rule_file(p))
        except RuleFileError as exc:
            errs.extend(exc.errors)
    if errs:
        raise RuleFileError(errs)
    return out

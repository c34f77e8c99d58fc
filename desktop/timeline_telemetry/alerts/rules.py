"""Prometheus rule files: ``groups[].rules[]`` of ``alert`` and ``record`` rules.

:func:`load_rule_files` parses and validates like ``promtool check rules`` (unknown keys,
duplicate group names, bad durations, unparsable PromQL, bad templates) and additionally
refuses PromQL constructs the local evaluator does not implement, naming rule and construct.
The file is read by :mod:`timeline_telemetry.config.safe_load` (size, UTF-8, depth, no YAML
aliases), and every problem, a wrong type at any level included, is one line
``file:line:column: what is wrong``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import promql_parser as pp

from timeline_telemetry.config.safe_load import (
    MAX_RULE_FILE_BYTES,
    FileLoadError,
    Position,
    YamlMap,
    YamlSeq,
    load_yaml,
    read_text,
)
from timeline_telemetry.promql.syntax import (
    PromQLError,
    UnsupportedQuery,
    check_supported,
    parse,
)

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

_DUR = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")
_DUR_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# Prometheus keeps durations as int64 milliseconds.
_MAX_DUR_S = (2**63 - 1) / 1000
_DUR_RANGE = "accepted: 0 to 292471208y"
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class RuleFileError(Exception):
    """A rule file is unusable; ``errors`` lists every problem found (one line each)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def parse_prom_duration(text: object) -> float:
    """A Prometheus duration (``1h30m``, ``90s``, ``500ms``, ``0``) in seconds.

    Raises ``ValueError`` past Prometheus's own range (int64 milliseconds, about 292
    million years), naming it.
    """
    s = str(text).strip()
    if s == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            break
        digits = m.group(1).lstrip("0")
        if len(digits) > 20:  # int() of thousands of digits is refused by Python itself
            raise ValueError(f"duration out of range: {_short(s)} ({_DUR_RANGE})")
        total += int(digits or "0") * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"not a valid duration string: {_short(s)!r}")
    if total > _MAX_DUR_S:
        raise ValueError(f"duration out of range: {_short(s)} ({_DUR_RANGE})")
    return total


def _short(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


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


class _Locator:
    """Prefixes messages with ``file:line:column`` of a value inside the parsed YAML."""

    def __init__(self, file: str) -> None:
        self.file = file

    def at(self, container: object, key: object = None) -> str:
        pos: Position | None = None
        if isinstance(container, YamlMap):
            pos = container.value_pos.get(key, container.start) if key is not None \
                else container.start
        elif isinstance(container, YamlSeq):
            if isinstance(key, int) and 0 <= key < len(container.item_pos):
                pos = container.item_pos[key]
            else:
                pos = container.start
        return f"{self.file}:{pos}" if pos is not None else self.file


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,60}")


def _key(k: object) -> str:
    """A mapping key for a message: as written when plain, else quoted (no newlines)."""
    return k if isinstance(k, str) and _PLAIN_KEY.fullmatch(k) else repr(k)[:60]


def _scalar_text(v: object) -> str | None:
    """A YAML scalar as Go's yaml would unmarshal it into a string; None for a collection."""
    if isinstance(v, (dict, list)):
        return None
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _kind(v: object) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _str_map(
    parent: object, key: str, what: str, loc: _Locator, errs: list[str]
) -> dict[str, str]:
    v = parent.get(key) if isinstance(parent, dict) else None
    if v is None:
        return {}
    if not isinstance(v, dict):
        errs.append(f"{loc.at(parent, key)}: {what}: must be a mapping, got {_kind(v)}")
        return {}
    out = {}
    for k, x in v.items():
        name = _scalar_text(k) or ""
        if not _LABEL_NAME.match(name):
            errs.append(f"{loc.at(v, k)}: {what}: invalid label name: {_kind(k)}")
            continue
        text = _scalar_text(x)
        if text is None:
            errs.append(f"{loc.at(v, k)}: {what}: the value of {name} must be a string, "
                        f"got {_kind(x)}")
            continue
        out[name] = text
    return out


def _duration(
    raw: Mapping[str, object], key: str, where: str, loc: _Locator, errs: list[str]
) -> float | None:
    v = raw.get(key)
    if v is None:
        return 0.0
    text = _scalar_text(v)
    try:
        if text is None:
            raise ValueError(f"expected a duration such as 5m, got {_kind(v)}")
        return parse_prom_duration(text)
    except ValueError as exc:
        errs.append(f"{loc.at(raw, key)}: {where}: {key}: {exc}")
        return None


def _load_rule(raw: object, rules: object, ri: int, *, where: str, loc: _Locator,
               errs: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        errs.append(f"{loc.at(rules, ri)}: {where}: a rule must be a mapping "
                    f"(alert or record, expr, ...), got {_kind(raw)}")
        return None
    for k in raw:
        if k not in _RULE_KEYS:
            errs.append(f"{loc.at(raw, k)}: {where}: field {_key(k)} not found in type "
                        "rulefmt.RuleNode")
    alert, record = raw.get("alert"), raw.get("record")
    for key, v in (("alert", alert), ("record", record)):
        if isinstance(v, (dict, list)):
            errs.append(f"{loc.at(raw, key)}: {where}: '{key}' must be a string, "
                        f"got {_kind(v)}")
            return None
    name = _scalar_text(alert if alert is not None else record) or ""
    label = f"{where}: {'alert' if alert is not None else 'record'}={name!r}"
    if (alert is None) == (record is None):
        errs.append(f"{loc.at(rules, ri)}: {where}: one of 'record' or 'alert' must be set")
        return None
    expr_raw = raw.get("expr")
    expr_text = _scalar_text(expr_raw) if not isinstance(expr_raw, bool) else None
    if expr_raw is None or expr_text is None or not expr_text.strip():
        at = loc.at(raw, "expr") if "expr" in raw else loc.at(rules, ri)
        got = "" if expr_raw is None else f", got {_kind(expr_raw)}"
        errs.append(f"{at}: {label}: field 'expr' must be set in rule (a PromQL string){got}")
        return None
    try:
        expr = parse(expr_text)
    except PromQLError as exc:
        errs.append(f"{loc.at(raw, 'expr')}: {label}: could not parse expression: {exc}")
        return None
    try:
        check_supported(expr)
    except UnsupportedQuery as exc:
        errs.append(f"{loc.at(raw, 'expr')}: {label}: {exc} is not supported by the local "
                    "evaluator")
        return None
    labels = _str_map(raw, "labels", f"{label}: labels", loc, errs)
    if record is not None:
        if "for" in raw or "annotations" in raw or "keep_firing_for" in raw:
            errs.append(f"{loc.at(rules, ri)}: {label}: invalid field "
                        "'for'/'annotations' in recording rule")
        if not _METRIC_NAME.match(name):
            errs.append(f"{loc.at(raw, 'record')}: {label}: invalid recording rule name: "
                        f"{name!r}")
        return RecordingRule(name, expr_text, expr, labels)
    annotations = _str_map(raw, "annotations", f"{label}: annotations", loc, errs)
    for src, k, text in [*(("labels", k, t) for k, t in labels.items()),
                         *(("annotations", k, t) for k, t in annotations.items())]:
        try:
            check_template(text)
        except TemplateError as exc:
            section = raw.get(src)
            errs.append(f"{loc.at(section, k)}: {label}: template {k}: "
                        f"{' '.join(str(exc).split())}")
    for_s = _duration(raw, "for", label, loc, errs)
    keep_s = _duration(raw, "keep_firing_for", label, loc, errs)
    if for_s is None or keep_s is None:
        return None
    return AlertingRule(name, expr_text, expr, for_s, keep_s, labels, annotations)


def _load_group(g: object, groups: object, gi: int, *, seen: set[str], loc: _Locator,
                errs: list[str]) -> RuleGroup | None:
    if not isinstance(g, dict):
        errs.append(f"{loc.at(groups, gi)}: group {gi}: must be a mapping "
                    f"(name, interval, rules), got {_kind(g)}")
        return None
    name_raw = g.get("name")
    gname = _scalar_text(name_raw) or ""
    where = f"group {gname!r}" if gname else f"group {gi}"
    if isinstance(name_raw, (dict, list)):
        errs.append(f"{loc.at(g, 'name')}: group {gi}: 'name' must be a string, "
                    f"got {_kind(name_raw)}")
    elif not gname:
        errs.append(f"{loc.at(groups, gi)}: group {gi}: groupname must not be empty")
    elif gname in seen:
        errs.append(f"{loc.at(g, 'name')}: {where}: repeated in the same file")
    seen.add(gname)
    for k in g:
        if k not in _GROUP_KEYS:
            errs.append(f"{loc.at(g, k)}: {where}: field {_key(k)} not found in type "
                        "rulefmt.RuleGroup")
    interval: float | None = None
    if g.get("interval") is not None:
        interval = _duration(g, "interval", where, loc, errs)
    if g.get("query_offset") is not None:
        _duration(g, "query_offset", where, loc, errs)
    limit_raw = g.get("limit")
    limit = 0
    if limit_raw is not None:
        if isinstance(limit_raw, int) and not isinstance(limit_raw, bool) and limit_raw >= 0:
            limit = limit_raw
        else:
            errs.append(f"{loc.at(g, 'limit')}: {where}: limit must be a whole number "
                        f"0 or more, got {_kind(limit_raw)}")
    rules_raw = g.get("rules")
    rules: list[Rule] = []
    if rules_raw is not None and not isinstance(rules_raw, list):
        errs.append(f"{loc.at(g, 'rules')}: {where}: 'rules' must be a list of rules, "
                    f"got {_kind(rules_raw)}")
    elif rules_raw is not None:
        for ri, raw in enumerate(rules_raw):
            rule = _load_rule(raw, rules_raw, ri, where=f"{where}: rule {ri}", loc=loc, errs=errs)
            if rule is not None:
                rules.append(rule)
    return RuleGroup(gname, loc.file, tuple(rules), interval, limit)


def _duplicates(node: object, loc: _Locator, errs: list[str]) -> None:
    """Repeated keys anywhere (Go's yaml refuses them; PyYAML keeps the last silently)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, YamlMap):
            for key, pos in n.duplicates:
                errs.append(f"{loc.file}:{pos}: mapping key {_kind(key)} already defined")
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)


def load_rule_file(path: Path) -> list[RuleGroup]:
    """Parse one rule file; raises :class:`RuleFileError` listing every problem.

    Each problem is one line: ``file:line:column: what is wrong``. The file is read with the
    bounds of :mod:`timeline_telemetry.config.safe_load` (at most ``MAX_RULE_FILE_BYTES``,
    UTF-8, nested at most ``MAX_DEPTH`` levels, no YAML anchors or aliases).
    """
    loc = _Locator(str(path))
    try:
        text = read_text(Path(path), max_bytes=MAX_RULE_FILE_BYTES, kind="rule file")
        doc = load_yaml(text, where=loc.file)
    except FileLoadError as exc:
        raise RuleFileError([str(exc)]) from None
    errs: list[str] = []
    if doc is None:
        return []
    _duplicates(doc, loc, errs)
    if not isinstance(doc, dict):
        raise RuleFileError([f"{loc.at(doc)}: a rule file is a mapping with only 'groups', "
                             f"got {_kind(doc)}"])
    for k in doc:
        if k != "groups":
            errs.append(f"{loc.at(doc, k)}: field {_key(k)} not found in type rulefmt.RuleGroups "
                        "(a rule file is a mapping with only 'groups')")
    groups_raw = doc.get("groups")
    groups: list[RuleGroup] = []
    if groups_raw is not None and not isinstance(groups_raw, list):
        errs.append(f"{loc.at(doc, 'groups')}: 'groups' must be a list of groups, "
                    f"got {_kind(groups_raw)}")
    elif groups_raw is not None:
        seen: set[str] = set()
        for gi, g in enumerate(groups_raw):
            group = _load_group(g, groups_raw, gi, seen=seen, loc=loc, errs=errs)
            if group is not None:
                groups.append(group)
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

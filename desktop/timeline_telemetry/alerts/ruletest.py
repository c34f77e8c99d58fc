"""``rules test``: promtool's rule unit-test format, run against the local evaluator.

Format (as ``promtool test rules``): ``rule_files`` (relative to the test file),
``evaluation_interval`` (default 1m), ``tests[]`` with ``interval``, ``input_series``
(``series`` + ``values`` in expanding notation: ``1+2x3``, ``5x2``, ``_``, ``_x3``,
``stale``), ``alert_rule_test`` (``eval_time``, ``alertname``, ``exp_alerts`` with
``exp_labels``/``exp_annotations``) and ``promql_expr_test`` (``expr``, ``eval_time``,
``exp_samples`` with ``labels``/``value``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

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
from timeline_telemetry.metrics.model import Labels
from timeline_telemetry.promql.syntax import PromQLError, check_supported, parse

from .engine import RuleEngine
from .promql import NAME, Sample
from .rules import RuleFileError, load_rule_files, parse_prom_duration
from .series import STALE_NAN, MemorySource
from .state import AlertState

__all__ = [
    "MAX_EVAL_STEPS",
    "MAX_POINTS",
    "check_test_file",
    "expand_values",
    "parse_series",
    "run_test_file",
]

#: Points one input series may expand to.
MAX_POINTS = 1_000_000
#: Evaluation steps of one test (its last eval_time / evaluation_interval).
MAX_EVAL_STEPS = 1_000_000

_TERM = re.compile(
    r"^(?P<start>[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|Inf|NaN))"
    r"(?:(?P<op>[-+])(?P<step>\d+\.?\d*(?:e[-+]?\d+)?))?x(?P<n>\d+)$",
    re.I,
)


def _num(s: str) -> float:
    low = s.lower().lstrip("+")
    if low in ("inf", "-inf", "nan"):
        return float(low)
    return float(s)


def _count(text: str, whole: str) -> int:
    if not text.isdecimal() or len(text) > 9 or int(text) > MAX_POINTS:
        raise ValueError(f"too many points in {whole[:60]!r} (at most {MAX_POINTS} a series)")
    return int(text)


def expand_values(text: str) -> list[float | None]:
    """promtool's series notation; ``None`` = no sample at that step.

    At most :data:`MAX_POINTS` points: ``1+1x1000000000`` is refused, not expanded.
    """
    out: list[float | None] = []
    for tok in str(text).split():
        if tok == "_":
            out.append(None)
        elif tok == "stale":
            out.append(STALE_NAN)
        elif tok.startswith("_x"):
            out.extend([None] * _count(tok[2:], text))
        elif "x" in tok.lower() and (m := _TERM.match(tok)):
            start = _num(m.group("start"))
            step = float(m.group("step") or 0) * (-1 if m.group("op") == "-" else 1)
            out.extend(start + i * step for i in range(_count(m.group("n"), text) + 1))
        else:
            try:
                out.append(_num(tok))
            except ValueError:
                raise ValueError(f"bad value {tok[:60]!r} in {text[:60]!r}") from None
        if len(out) > MAX_POINTS:
            raise ValueError(f"too many points in {text[:60]!r} (at most {MAX_POINTS} a series)")
    return out


def parse_series(text: str) -> tuple[str, Labels]:
    """``name{a="b"}`` or ``{__name__="x", a="b"}`` -> (name, labels without name)."""
    s = text.strip()
    if s in ("", "{}"):
        return "", ()
    try:
        e = parse(s)
    except PromQLError as exc:
        raise ValueError(f"bad series {text[:60]!r}: {exc}") from None
    if not isinstance(e, pp.VectorSelector):
        raise ValueError(f"bad series {text!r}")
    name = e.name or ""
    labels = []
    for m in e.matchers.matchers:
        if m.name == NAME:
            name = m.value
        else:
            labels.append((m.name, m.value))
    return name, tuple(sorted(labels))


def _fmt_labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _run_test(tc: dict[str, Any], groups: list[Any], eval_interval: float) -> list[str]:
    interval_ms = round(parse_prom_duration(tc.get("interval", "1m")) * 1000)
    store = MemorySource()
    for s in tc.get("input_series") or []:
        name, labels = parse_series(str(s["series"]))
        for i, v in enumerate(expand_values(str(s.get("values", "")))):
            if v is not None:
                store.add(name, labels, i * interval_ms, v)
    engine = RuleEngine(groups, store, output=store)
    alert_tests = sorted(
        tc.get("alert_rule_test") or [], key=lambda a: parse_prom_duration(a["eval_time"])
    )
    expr_tests = tc.get("promql_expr_test") or []
    times = [parse_prom_duration(a["eval_time"]) for a in alert_tests] + [
        parse_prom_duration(a["eval_time"]) for a in expr_tests
    ]
    max_ms = round(max(times, default=0) * 1000)
    step_ms = round(eval_interval * 1000)
    if step_ms <= 0:
        raise ValueError("evaluation_interval must be longer than zero")
    if max_ms // step_ms > MAX_EVAL_STEPS:
        raise ValueError(f"eval_time {max(times):g}s is more than {MAX_EVAL_STEPS} "
                         "evaluation intervals away")
    errs: list[str] = []
    ai = 0
    ts = 0
    while ts <= max_ms:
        engine.eval(ts)
        while ai < len(alert_tests):
            at = round(parse_prom_duration(alert_tests[ai]["eval_time"]) * 1000)
            if not (ts <= at < ts + step_ms):
                break
            errs.extend(_check_alerts(engine, alert_tests[ai]))
            ai += 1
        ts += step_ms
    for et in expr_tests:
        errs.extend(_check_expr(engine, et))
    return errs


def _check_alerts(engine: RuleEngine, t: dict[str, Any]) -> list[str]:
    name = str(t["alertname"])
    got = []
    for st in engine.states.values():
        if st.rule.name != name:
            continue
        for a in st.active.values():
            if a.state is AlertState.FIRING:
                got.append((dict(a.labels), dict(a.annotations)))
    exp = []
    for e in t.get("exp_alerts") or []:
        labels = {str(k): str(v) for k, v in (e.get("exp_labels") or {}).items()}
        labels["alertname"] = name
        ann = {str(k): str(v) for k, v in (e.get("exp_annotations") or {}).items()}
        exp.append((labels, ann))

    def key(x: tuple[dict[str, str], dict[str, str]]) -> str:
        return _fmt_labels(x[0]) + _fmt_labels(x[1])

    if sorted(got, key=key) == sorted(exp, key=key):
        return []

    def show(xs: list[tuple[dict[str, str], dict[str, str]]]) -> str:
        return "[" + "".join(
            f"\n            {i}:\n              Labels:{_fmt_labels(lb)}\n"
            f"              Annotations:{_fmt_labels(an)}"
            for i, (lb, an) in enumerate(sorted(xs, key=key))
        ) + ("\n            " if xs else "") + "]"

    return [
        f"    alertname: {name}, time: {t['eval_time']}, \n"
        f"        exp:{show(exp)}, \n        got:{show(got)}"
    ]


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def _check_expr(engine: RuleEngine, t: dict[str, Any]) -> list[str]:
    text = str(t["expr"])
    at = round(parse_prom_duration(t["eval_time"]) * 1000)
    try:
        expr = parse(text)
        check_supported(expr)
        v = engine.evaluator.instant(expr, at)
    except PromQLError as exc:
        return [f"    expr: {text!r}, time: {t['eval_time']}, err: {exc}"]
    got: list[Sample] = [Sample((), v)] if isinstance(v, float) else v
    exp = []
    for e in t.get("exp_samples") or []:
        name, labels = parse_series(str(e.get("labels", "")))
        full = tuple(sorted(((NAME, name), *labels))) if name else labels
        exp.append(Sample(full, _num(str(e.get("value")))))
    ok = len(got) == len(exp)
    if ok:
        gs = sorted(got, key=lambda s: s.labels)
        es = sorted(exp, key=lambda s: s.labels)
        pairs = zip(gs, es, strict=True)
        ok = all(g.labels == e.labels and _close(g.value, e.value) for g, e in pairs)
    if ok:
        return []

    def show(xs: list[Sample]) -> str:
        ordered = sorted(xs, key=lambda s: s.labels)
        return "[" + ", ".join(f"{{{_fmt_labels(dict(s.labels))} {s.value!r}}}"
                               for s in ordered) + "]"

    return [
        f"    expr: {text!r}, time: {t['eval_time']},\n        exp: {show(exp)}\n"
        f"        got: {show(got)}"
    ]


# promtool's unit-test file types (``main.unitTestFile`` and below): field -> kind, where a
# kind is "scalar", "duration", "map" (of scalars), a nested type, or ("list", kind).
_Kind = Any
_SAMPLE: dict[str, _Kind] = {"labels": "scalar", "value": "scalar"}
_ALERT: dict[str, _Kind] = {"exp_labels": "map", "exp_annotations": "map"}
_ALERT_TEST: dict[str, _Kind] = {
    "eval_time": "duration", "alertname": "scalar", "exp_alerts": ("list", ("alert", _ALERT))}
_EXPR_TEST: dict[str, _Kind] = {
    "expr": "scalar", "eval_time": "duration", "exp_samples": ("list", ("sample", _SAMPLE))}
_SERIES: dict[str, _Kind] = {"series": "scalar", "values": "scalar"}
_TEST_GROUP: dict[str, _Kind] = {
    "interval": "duration",
    "input_series": ("list", ("series", _SERIES)),
    "alert_rule_test": ("list", ("alertTestCase", _ALERT_TEST)),
    "promql_expr_test": ("list", ("promqlTestCase", _EXPR_TEST)),
    "external_labels": "map",
    "external_url": "scalar",
    "name": "scalar",
}
_TEST_FILE: dict[str, _Kind] = {
    "rule_files": ("list", "scalar"),
    "evaluation_interval": "duration",
    "group_eval_order": ("list", "scalar"),
    "tests": ("list", ("testGroup", _TEST_GROUP)),
}
_REQUIRED = {"alertTestCase": ("eval_time", "alertname"), "promqlTestCase": ("expr", "eval_time"),
             "series": ("series",)}


def _at(file: str, container: object, key: object) -> str:
    pos: Position | None = None
    if isinstance(container, YamlMap):
        pos = container.value_pos.get(key, container.start)
    elif isinstance(container, YamlSeq):
        if isinstance(key, int) and 0 <= key < len(container.item_pos):
            pos = container.item_pos[key]
        else:
            pos = container.start
    return f"{file}:{pos}" if pos is not None else file


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,60}")


def _key(k: object) -> str:
    """A mapping key for a message: as written when plain, else quoted (no newlines)."""
    return k if isinstance(k, str) and _PLAIN_KEY.fullmatch(k) else repr(k)[:60]


def _what(v: object) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    return repr(v)[:40]


def _check_value(v: object, kind: _Kind, at: str, *, name: str, file: str,
                 errs: list[str]) -> None:
    if v is None:
        return
    if kind == "scalar":
        if isinstance(v, (dict, list)):
            errs.append(f"{at}: {name}: expected a string, got {_what(v)}")
    elif kind == "duration":
        try:
            if isinstance(v, (dict, list)):
                raise ValueError(f"expected a duration such as 5m, got {_what(v)}")
            parse_prom_duration(v)
        except ValueError as exc:
            errs.append(f"{at}: {name}: {exc}")
    elif kind == "map":
        if not isinstance(v, dict):
            errs.append(f"{at}: {name}: expected a mapping of strings, got {_what(v)}")
            return
        for k, x in v.items():
            if isinstance(x, (dict, list)):
                errs.append(f"{_at(file, v, k)}: {name}: the value of {_key(k)} must be a "
                            f"string, got {_what(x)}")
    elif kind[0] == "list":
        if not isinstance(v, list):
            errs.append(f"{at}: {name}: expected a list, got {_what(v)}")
            return
        for i, item in enumerate(v):
            if item is None and isinstance(kind[1], tuple):
                errs.append(f"{_at(file, v, i)}: {name}[{i}]: an empty entry (null)")
                continue
            _check_value(item, kind[1], _at(file, v, i), name=f"{name}[{i}]", file=file,
                         errs=errs)
    else:
        type_name, spec = kind
        _check_object(v, type_name, spec, at=at, name=name, file=file, errs=errs)


def _check_object(v: object, type_name: str, spec: dict[str, _Kind], *, at: str, name: str,
                  file: str, errs: list[str]) -> None:
    if not isinstance(v, dict):
        where = f"{name}: " if name else ""
        errs.append(f"{at}: {where}cannot unmarshal {_what(v)} into main.{type_name}")
        return
    for k in v:
        if k not in spec:
            errs.append(f"{_at(file, v, k)}: field {_key(k)} not found in type main.{type_name}")
    for k in _REQUIRED.get(type_name, ()):
        if v.get(k) is None:
            errs.append(f"{at}: {name}: '{k}' is required")
    for k, kind in spec.items():
        if k in v:
            path = f"{name}.{k}" if name else k
            _check_value(v[k], kind, _at(file, v, k), name=path, file=file, errs=errs)


def check_test_file(doc: object, file: str) -> list[str]:
    """The problems of a parsed unit-test file (empty if it can run), one line each."""
    if doc is None:
        return [f"{file}: empty file: a rule unit-test file needs 'tests:' "
                "(use 'rules check' for a rule file)"]
    errs: list[str] = []
    _check_object(doc, "unitTestFile", _TEST_FILE, at=f"{file}:1:1", name="", file=file,
                  errs=errs)
    if isinstance(doc, dict) and not errs and not doc.get("tests"):
        errs.append(f"{file}: no tests: a rule unit-test file needs 'tests:' "
                    "(use 'rules check' for a rule file)")
    return errs


def run_test_file(path: Path, out: TextIO) -> bool:
    """Run one unit-test file, printing like promtool; True when every test passed.

    The file is read with the rule files' bounds and checked strictly first, as promtool
    does: unknown fields and wrong types fail with ``file:line:column``. Unlike promtool, a
    file without any test (empty, a rule file, a config) fails too: it would test nothing.
    """
    print(f"Unit Testing:  {path}", file=out)
    try:
        text = read_text(Path(path), max_bytes=MAX_RULE_FILE_BYTES, kind="rule test file")
        doc = load_yaml(text, where=str(path))
    except FileLoadError as exc:
        print(f"  FAILED:\n{exc}\n", file=out)
        return False
    problems = check_test_file(doc, str(path))
    if problems:
        print("  FAILED:\n" + "\n".join(problems) + "\n", file=out)
        return False
    assert isinstance(doc, dict)
    try:
        base = Path(path).parent
        files: Sequence[str] = [str(f) for f in doc.get("rule_files") or []]
        groups = load_rule_files([base / f for f in files])
        eval_interval = parse_prom_duration(doc.get("evaluation_interval", "1m"))
    except (ValueError, RuleFileError) as exc:
        print(f"  FAILED:\n{exc}\n", file=out)
        return False
    errs: list[str] = []
    for i, tc in enumerate(doc.get("tests") or []):
        try:
            found = _run_test(tc, groups, eval_interval)
        except (ValueError, KeyError, PromQLError) as exc:
            found = [f"    test {i}: {exc}"]
        if found and tc.get("name"):
            found.insert(0, f"    name: {tc['name']},")
        errs.extend(found)
    if errs:
        print("  FAILED:", file=out)
        print("\n".join(errs), file=out)
        print(file=out)
        return False
    print("  SUCCESS", file=out)
    print(file=out)
    return True

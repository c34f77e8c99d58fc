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
import yaml

from timeline_telemetry.metrics.model import Labels
from timeline_telemetry.promql.syntax import PromQLError, check_supported, parse

from .engine import RuleEngine
from .promql import NAME, Sample
from .rules import RuleFileError, load_rule_files, parse_prom_duration
from .series import STALE_NAN, MemorySource
from .state import AlertState

__all__ = ["expand_values", "parse_series", "run_test_file"]

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


def expand_values(text: str) -> list[float | None]:
    """promtool's series notation; ``None`` = no sample at that step."""
    out: list[float | None] = []
    for tok in str(text).split():
        if tok == "_":
            out.append(None)
        elif tok == "stale":
            out.append(STALE_NAN)
        elif tok.startswith("_x"):
            out.extend([None] * int(tok[2:]))
        elif "x" in tok.lower() and (m := _TERM.match(tok)):
            start = _num(m.group("start"))
            step = float(m.group("step") or 0) * (-1 if m.group("op") == "-" else 1)
            out.extend(start + i * step for i in range(int(m.group("n")) + 1))
        else:
            try:
                out.append(_num(tok))
            except ValueError:
                raise ValueError(f"bad value {tok!r} in {text!r}") from None
    return out


def parse_series(text: str) -> tuple[str, Labels]:
    """``name{a="b"}`` or ``{__name__="x", a="b"}`` -> (name, labels without name)."""
    s = text.strip()
    if s in ("", "{}"):
        return "", ()
    try:
        e = pp.parse(s)
    except ValueError as exc:
        raise ValueError(f"bad series {text!r}: {exc}") from None
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


def run_test_file(path: Path, out: TextIO) -> bool:
    """Run one unit-test file, printing like promtool; True when every test passed."""
    print(f"Unit Testing:  {path}", file=out)
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        base = Path(path).parent
        files: Sequence[str] = doc.get("rule_files") or []
        groups = load_rule_files([base / f for f in files])
        eval_interval = parse_prom_duration(doc.get("evaluation_interval", "1m"))
    except (OSError, yaml.YAMLError, ValueError, RuleFileError) as exc:
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

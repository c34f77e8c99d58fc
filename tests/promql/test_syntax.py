"""The PromQL support check and the local evaluator agree: everything the check accepts
evaluates, and what it refuses is named."""

from __future__ import annotations

import pytest

from timeline_telemetry.alerts.promql import Evaluator
from timeline_telemetry.alerts.series import MemorySource
from timeline_telemetry.promql.syntax import (
    AGGREGATIONS,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    MATH_FUNCS,
    MAX_NESTING,
    OTHER_FUNCS,
    OVER_TIME_FUNCS,
    RANGE_FUNCS,
    SET_OPS,
    PromQLError,
    UnsupportedQuery,
    check_supported,
    parse,
)

T_MS = 600_000
OTHER_EXAMPLES = {
    "absent": "absent(m)",
    "absent_over_time": "absent_over_time(m[5m])",
    "scalar": "scalar(m)",
    "vector": "vector(1)",
    "time": "time()",
    "clamp_min": "clamp_min(m, 0)",
    "clamp_max": "clamp_max(m, 1)",
}


def _source() -> MemorySource:
    src = MemorySource()
    for i in range(11):
        src.add("m", (("job", "a"),), i * 60_000, float(i))
    return src


def _supported() -> list[str]:
    exprs = [f"{f}(m)" for f in sorted(MATH_FUNCS)]
    exprs += [f"{f}(m[5m])" for f in sorted(RANGE_FUNCS | OVER_TIME_FUNCS)]
    exprs += [f"{a}(m)" for a in sorted(AGGREGATIONS)]
    exprs += [f"m {op} 1" for op in sorted(ARITHMETIC_OPS | COMPARISON_OPS)]
    exprs += [f"m {op} m" for op in sorted(SET_OPS)]
    assert set(OTHER_EXAMPLES) == OTHER_FUNCS
    return exprs + list(OTHER_EXAMPLES.values())


@pytest.mark.parametrize("text", _supported())
def test_what_the_check_accepts_the_evaluator_implements(text: str) -> None:
    expr = parse(text)
    check_supported(expr)
    Evaluator(_source()).instant(expr, T_MS)


@pytest.mark.parametrize(("text", "named"), [
    ("topk(1, m)", "topk"),
    ("round(m)", "round"),
    ("m[5m]", "range vector"),
    ('"text"', "string literals"),
    ("rate(m[5m:1m])", "subqueries"),
])
def test_what_it_refuses_is_named(text: str, named: str) -> None:
    with pytest.raises(UnsupportedQuery, match=named):
        check_supported(parse(text))


def test_a_parse_error_is_a_promql_error() -> None:
    with pytest.raises(PromQLError, match=r"^parse error: "):
        parse("m +")


@pytest.mark.parametrize(("text", "problem"), [
    ("(" * 5000 + "1" + ")" * 5000, "nested too deeply: more than 128 levels of brackets"),
    ("(" * 100_000 + "1" + ")" * 100_000, "query too long"),
    ("abs(" * 200 + "m" + ")" * 200, "nested too deeply"),
    (" + ".join(["m"] * 5000), "more than 1000 operators"),
    (" or ".join(["m"] * 300), "expression tree is more than 200 levels deep"),
])
def test_queries_that_would_crash_the_parser_are_refused_first(text: str, problem: str) -> None:
    """promql-parser overflows its (Rust) stack, killing the process, at ~8,000 nested
    parentheses or ~4,000 chained operators; the evaluator recurses per tree level."""
    with pytest.raises(PromQLError, match=problem):
        parse(text)


def test_the_bounds_leave_real_queries_alone() -> None:
    deep = "(" * MAX_NESTING + "m" + ")" * MAX_NESTING
    check_supported(parse(deep))
    # Brackets and operators inside strings and comments are not counted.
    check_supported(parse('m{job="' + "((((+" * 300 + '"} # ' + "(" * 300 + "\n"))
    Evaluator(_source()).instant(parse(" + ".join(["m"] * 150)), T_MS)

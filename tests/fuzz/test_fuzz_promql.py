"""Fuzzing PromQL through the parser bounds and the support check: an expression is parsed
and accepted (and then evaluates), or refused with PromQLError; never another exception,
and never a crash of the process (the Rust parser overflows its stack on deep input)."""

from __future__ import annotations

from fuzz_support import FUZZ
from hypothesis import given
from promql_strategies import ANY_EXPR

from timeline_telemetry.alerts.promql import Evaluator
from timeline_telemetry.alerts.series import MemorySource
from timeline_telemetry.promql.syntax import PromQLError, check_supported, parse

T_MS = 600_000


def _source() -> MemorySource:
    src = MemorySource()
    for name in ("m", "up", "system_cpu_usage_percent"):
        for i in range(11):
            src.add(name, (("job", "a"),), i * 60_000, float(i))
    return src


SOURCE = _source()


@FUZZ
@given(text=ANY_EXPR)
def test_expressions_are_accepted_and_evaluate_or_refused(text: str) -> None:
    try:
        expr = parse(text)
        check_supported(expr)
    except PromQLError as exc:
        assert str(exc)
        return
    try:
        value = Evaluator(SOURCE).instant(expr, T_MS)
    except PromQLError:  # many-to-many matches and the like: refused at evaluation
        return
    assert isinstance(value, (float, list))

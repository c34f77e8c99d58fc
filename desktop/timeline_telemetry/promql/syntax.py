"""PromQL text -> expression tree (the ``promql-parser`` package), and the subset that the
local evaluator (``alerts.promql``) implements.

:func:`check_supported` refuses every construct outside that subset, naming it, so a rule
file, a config's ``resolve_condition`` and a rule test all fail where the expression is
written rather than at the first evaluation. The name sets below are the evaluator's
contract: it implements each of them and nothing else.
"""

from __future__ import annotations

import promql_parser as pp

__all__ = [
    "AGGREGATIONS",
    "ARITHMETIC_OPS",
    "COMPARISON_OPS",
    "MATH_FUNCS",
    "OTHER_FUNCS",
    "OVER_TIME_FUNCS",
    "RANGE_FUNCS",
    "SET_OPS",
    "PromQLError",
    "UnsupportedQuery",
    "check_supported",
    "parse",
]

#: Functions taking one range vector that are computed from the points' times.
RANGE_FUNCS = frozenset({"rate", "increase", "delta", "irate", "idelta"})
#: Functions reducing the (non-stale) values of one range vector.
OVER_TIME_FUNCS = frozenset({
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "present_over_time", "stddev_over_time", "stdvar_over_time",
})
#: Functions applied to each sample of an instant vector.
MATH_FUNCS = frozenset({"abs", "ceil", "floor", "sqrt", "exp", "ln"})
OTHER_FUNCS = frozenset(
    {"absent", "absent_over_time", "scalar", "vector", "time", "clamp_min", "clamp_max"}
)
AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count"})
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^"})
COMPARISON_OPS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})


class PromQLError(Exception):
    """A query cannot be evaluated (parse error, many-to-many match, duplicate series)."""


class UnsupportedQuery(PromQLError):
    """The query uses a construct the local evaluator does not implement."""


def parse(text: str) -> pp.Expr:
    """Parse ``text``; raises :class:`PromQLError` with the parser's message."""
    try:
        return pp.parse(text)
    except (ValueError, TypeError) as exc:
        raise PromQLError(f"parse error: {exc}") from None


def check_supported(expr: pp.Expr) -> None:
    """Raise :class:`UnsupportedQuery` naming the first construct not implemented here."""
    if isinstance(expr, pp.NumberLiteral):
        return
    if isinstance(expr, pp.StringLiteral):
        raise UnsupportedQuery("string literals")
    if isinstance(expr, (pp.ParenExpr, pp.UnaryExpr)):
        check_supported(expr.expr)
        return
    if isinstance(expr, pp.VectorSelector):
        if expr.at is not None:
            raise UnsupportedQuery("the @ modifier")
        if not expr.name:
            raise UnsupportedQuery("selectors without a metric name")
        if expr.matchers.or_matchers:
            raise UnsupportedQuery("'or' label matchers")
        return
    if isinstance(expr, pp.MatrixSelector):
        raise UnsupportedQuery("a range vector outside a function")
    if isinstance(expr, pp.SubqueryExpr):
        raise UnsupportedQuery("subqueries")
    if isinstance(expr, pp.AggregateExpr):
        op = str(expr.op)
        if op not in AGGREGATIONS:
            raise UnsupportedQuery(f"the aggregation {op}()")
        check_supported(expr.expr)
        return
    if isinstance(expr, pp.BinaryExpr):
        op = str(expr.op)
        if op not in ARITHMETIC_OPS | COMPARISON_OPS | SET_OPS:
            raise UnsupportedQuery(f"the operator {op}")
        mod = expr.modifier
        if mod is not None and mod.fill_values is not None and _has_fill(mod.fill_values):
            raise UnsupportedQuery("fill modifiers")
        check_supported(expr.lhs)
        check_supported(expr.rhs)
        return
    if isinstance(expr, pp.Call):
        name = expr.func.name
        if name in RANGE_FUNCS or name in OVER_TIME_FUNCS or name == "absent_over_time":
            arg = expr.args[0]
            if isinstance(arg, pp.SubqueryExpr):
                raise UnsupportedQuery("subqueries")
            if not isinstance(arg, pp.MatrixSelector):
                raise UnsupportedQuery(f"{name}() of anything but a range selector")
            check_supported(arg.vector_selector)
            return
        if name not in MATH_FUNCS and name not in OTHER_FUNCS:
            raise UnsupportedQuery(f"the function {name}()")
        for a in expr.args:
            check_supported(a)
        return
    raise UnsupportedQuery(f"the expression {type(expr).__name__}")


def _has_fill(fv: object) -> bool:
    return any(getattr(fv, a, None) is not None for a in ("lhs", "rhs"))

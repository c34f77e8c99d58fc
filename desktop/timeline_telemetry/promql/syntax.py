"""PromQL text -> expression tree (the ``promql-parser`` package), and the subset that the
local evaluator (``alerts.promql``) implements.

:func:`check_supported` refuses every construct outside that subset, naming it, so a rule
file, a config's ``resolve_condition`` and a rule test all fail where the expression is
written rather than at the first evaluation. The name sets below are the evaluator's
contract: it implements each of them and nothing else.
"""

from __future__ import annotations

import re

import promql_parser as pp

__all__ = [
    "AGGREGATIONS",
    "ARITHMETIC_OPS",
    "COMPARISON_OPS",
    "MATH_FUNCS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "MAX_OPERATORS",
    "MAX_QUERY_CHARS",
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


# Bounds checked before the text reaches promql-parser: its Rust parser recurses, and a deep
# enough query overflows its stack and kills the whole process (measured here: ~8,000
# nested parentheses, ~4,000 operators in one chain). The evaluator and the support check
# recurse once per tree level in Python, so the tree's depth is bounded too.
#: Characters of one query.
MAX_QUERY_CHARS = 64 * 1024
#: Brackets ``( [ {`` inside each other.
MAX_NESTING = 128
#: Operators (binary, unary, comparison, ``and``/``or``/``unless``) in one query.
MAX_OPERATORS = 1000
#: Levels of the parsed expression tree.
MAX_DEPTH = 200

# String literals and comments are skipped whole; what is left is brackets and operators.
_LEX = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"?'
    r"|'[^'\\]*(?:\\.[^'\\]*)*'?"
    r"|`[^`]*`?"
    r"|#[^\n]*"
    r"|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<op>[-+*/%^=!<>~]+|\b(?:and|or|unless|atan2)\b)",
    re.S,
)


class PromQLError(Exception):
    """A query cannot be evaluated (parse error, many-to-many match, duplicate series)."""


class UnsupportedQuery(PromQLError):
    """The query uses a construct the local evaluator does not implement."""


def parse(text: str) -> pp.Expr:
    """Parse ``text``; raises :class:`PromQLError` with the parser's message, or naming the
    bound (:data:`MAX_NESTING`, :data:`MAX_OPERATORS`, ...) a too complex query exceeds."""
    check_bounds(text)
    try:
        expr = pp.parse(text)
    except (ValueError, TypeError) as exc:
        raise PromQLError(f"parse error: {' '.join(str(exc).split())}") from None
    if _tree_depth(expr) > MAX_DEPTH:
        raise PromQLError(f"query too complex: its expression tree is more than {MAX_DEPTH} "
                          "levels deep")
    return expr


def check_bounds(text: str) -> None:
    """Refuse a query too long, nested too deeply or with too many operators for the parser
    (which would crash the process rather than fail), without parsing it."""
    if len(text) > MAX_QUERY_CHARS:
        raise PromQLError(f"query too long: {len(text)} characters "
                          f"(at most {MAX_QUERY_CHARS})")
    depth = ops = 0
    for m in _LEX.finditer(text):
        if m.group("open"):
            depth += 1
            if depth > MAX_NESTING:
                raise PromQLError(
                    f"query nested too deeply: more than {MAX_NESTING} levels of brackets "
                    f"(at character {m.start() + 1})")
        elif m.group("close"):
            depth = max(depth - 1, 0)
        elif m.group("op"):
            ops += 1
            if ops > MAX_OPERATORS:
                raise PromQLError(
                    f"query too complex: more than {MAX_OPERATORS} operators "
                    f"(at character {m.start() + 1})")


def _children(expr: object) -> list[object]:
    if isinstance(expr, pp.BinaryExpr):
        return [expr.lhs, expr.rhs]
    if isinstance(expr, pp.Call):
        return list(expr.args)
    if isinstance(expr, pp.AggregateExpr):
        param = getattr(expr, "param", None)
        return [expr.expr] if param is None else [expr.expr, param]
    if isinstance(expr, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return [expr.expr]
    if isinstance(expr, pp.MatrixSelector):
        return [expr.vector_selector]
    return []


def _tree_depth(expr: pp.Expr) -> int:
    """The depth of the tree, walked without recursion (stops counting past MAX_DEPTH)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


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

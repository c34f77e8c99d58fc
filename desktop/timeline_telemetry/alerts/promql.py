"""A PromQL evaluator over a :class:`~.series.SeriesSource` (the local history).

Parsing and the support check are :mod:`timeline_telemetry.promql.syntax`'s (rules are
checked when they load, so evaluation meets only what is implemented here). Semantics follow
Prometheus 2.x: 5-minute lookback (both ends included), staleness markers end a series,
``rate`` extrapolation, metric-name dropping, one-to-one / many-to-one vector matching.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import promql_parser as pp

from timeline_telemetry.history.model import LabelMatcher
from timeline_telemetry.metrics.model import Labels
from timeline_telemetry.promql.syntax import (
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    RANGE_FUNCS,
    SET_OPS,
    PromQLError,
    UnsupportedQuery,
)

from .promql_funcs import OVER_TIME, extrapolated_rate, instant_value
from .series import SeriesSource, is_stale

__all__ = ["LOOKBACK_MS", "NAME", "Evaluator", "Sample"]

LOOKBACK_MS = 300_000
NAME = "__name__"


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector: labels (incl. ``__name__`` unless dropped)."""

    labels: Labels
    value: float

    def label(self, name: str) -> str:
        """One label's value ('' if absent)."""
        return dict(self.labels).get(name, "")


Value = float | list[Sample]

_MATH: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": lambda v: float(math.ceil(v)) if math.isfinite(v) else v,
    "floor": lambda v: float(math.floor(v)) if math.isfinite(v) else v,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
    "exp": math.exp,
    "ln": lambda v: math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan),
}


def _ms(td: object) -> int:
    return 0 if td is None else round(td.total_seconds() * 1000)  # type: ignore[attr-defined]


def _matchers(vs: pp.VectorSelector) -> list[LabelMatcher]:
    out = []
    for m in vs.matchers.matchers:
        if m.name == NAME:
            continue
        op = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}[
            str(m.op).rsplit(".", 1)[-1]
        ]
        out.append(LabelMatcher(m.name, op, m.value))
    return out


def _without_name(labels: Labels) -> Labels:
    return tuple(kv for kv in labels if kv[0] != NAME)


def _with_name(name: str, labels: Labels) -> Labels:
    return tuple(sorted(((NAME, name), *labels)))


class Evaluator:
    """Evaluates parsed queries at a time (ms) against ``source``."""

    def __init__(self, source: SeriesSource, *, lookback_ms: int = LOOKBACK_MS) -> None:
        self._src = source
        self._lookback = lookback_ms

    def instant(self, expr: pp.Expr, t_ms: int) -> Value:
        """The value of ``expr`` at ``t_ms``: a float (scalar) or an instant vector."""
        return self._eval(expr, t_ms)

    # -- dispatch ------------------------------------------------------------------------
    def _eval(self, e: pp.Expr, t: int) -> Value:
        if isinstance(e, pp.NumberLiteral):
            return float(e.val)
        if isinstance(e, pp.ParenExpr):
            return self._eval(e.expr, t)
        if isinstance(e, pp.UnaryExpr):
            v = self._eval(e.expr, t)
            if isinstance(v, float):
                return -v
            return [Sample(_without_name(s.labels), -s.value) for s in v]
        if isinstance(e, pp.VectorSelector):
            return self._select_instant(e, t)
        if isinstance(e, pp.AggregateExpr):
            return self._aggregate(e, t)
        if isinstance(e, pp.BinaryExpr):
            return self._binary(e, t)
        if isinstance(e, pp.Call):
            return self._call(e, t)
        raise UnsupportedQuery(f"the expression {type(e).__name__}")

    def _vector(self, e: pp.Expr, t: int) -> list[Sample]:
        v = self._eval(e, t)
        if isinstance(v, float):
            raise PromQLError("expected an instant vector, got a scalar")
        return v

    # -- selectors ----------------------------------------------------------------------
    def _select_instant(self, vs: pp.VectorSelector, t: int) -> list[Sample]:
        ref = t - _ms(vs.offset)
        out = []
        for s in self._src.select(vs.name or "", _matchers(vs), ref - self._lookback, ref):
            if not s.points:
                continue
            _, v = s.points[-1]
            if is_stale(v):
                continue
            out.append(Sample(_with_name(s.name, s.labels), v))
        return out

    def _select_range(
        self, ms: pp.MatrixSelector, t: int
    ) -> tuple[list[tuple[Labels, list[tuple[int, float]]]], int, int, float]:
        vs = ms.vector_selector
        end = t - _ms(vs.offset)
        start = end - _ms(ms.range)
        found = []
        for s in self._src.select(vs.name or "", _matchers(vs), start, end):
            pts = [(pt, v) for pt, v in s.points if not is_stale(v)]
            if pts:
                found.append((_with_name(s.name, s.labels), pts))
        return found, start, end, ms.range.total_seconds()

    # -- functions ----------------------------------------------------------------------
    def _call(self, e: pp.Call, t: int) -> Value:
        name = e.func.name
        if name in RANGE_FUNCS or name in OVER_TIME or name == "absent_over_time":
            series, start, end, range_s = self._select_range(e.args[0], t)
            if name == "absent_over_time":
                return [] if series else [Sample(_absent_labels(e.args[0].vector_selector), 1.0)]
            out = []
            for labels, pts in series:
                val: float | None
                if name in OVER_TIME:
                    val = OVER_TIME[name]([v for _, v in pts])
                elif name in ("irate", "idelta"):
                    val = instant_value(pts, is_rate=name == "irate")
                else:
                    val = extrapolated_rate(
                        pts, start, end, range_s,
                        is_counter=name != "delta", is_rate=name == "rate",
                    )
                if val is not None:
                    keep = name == "last_over_time"
                    out.append(Sample(labels if keep else _without_name(labels), val))
            return out
        if name == "time":
            return t / 1000
        if name == "vector":
            return [Sample((), self._scalar(e.args[0], t))]
        if name == "scalar":
            v = self._vector(e.args[0], t)
            return v[0].value if len(v) == 1 else math.nan
        if name == "absent":
            v = self._vector(e.args[0], t)
            if v:
                return []
            arg = e.args[0]
            labels = _absent_labels(arg) if isinstance(arg, pp.VectorSelector) else ()
            return [Sample(labels, 1.0)]
        if name in ("clamp_min", "clamp_max"):
            bound = self._scalar(e.args[1], t)
            pick = max if name == "clamp_min" else min
            return [
                Sample(_without_name(s.labels), pick(s.value, bound))
                for s in self._vector(e.args[0], t)
            ]
        fn = _MATH[name]
        return [Sample(_without_name(s.labels), fn(s.value)) for s in self._vector(e.args[0], t)]

    def _scalar(self, e: pp.Expr, t: int) -> float:
        v = self._eval(e, t)
        if not isinstance(v, float):
            raise PromQLError("expected a scalar, got an instant vector")
        return v

    # -- aggregation --------------------------------------------------------------------
    def _aggregate(self, e: pp.AggregateExpr, t: int) -> list[Sample]:
        op = str(e.op)
        vec = self._vector(e.expr, t)
        mod = e.modifier
        without = mod is not None and str(mod.type).endswith("Without")
        names = set(mod.labels) if mod is not None else set()
        groups: dict[Labels, list[float]] = {}
        for s in vec:
            if without:
                key = tuple(kv for kv in s.labels if kv[0] not in names and kv[0] != NAME)
            else:
                key = tuple(kv for kv in s.labels if kv[0] in names)
            groups.setdefault(key, []).append(s.value)
        out = []
        for key, vals in groups.items():
            if op == "sum":
                val = OVER_TIME["sum_over_time"](vals)
            elif op == "avg":
                val = OVER_TIME["avg_over_time"](vals)
            elif op == "count":
                val = float(len(vals))
            else:
                val = OVER_TIME[f"{op}_over_time"](vals)
            out.append(Sample(key, val))
        return out

    # -- binary operators ---------------------------------------------------------------
    def _binary(self, e: pp.BinaryExpr, t: int) -> Value:
        op = str(e.op)
        mod = e.modifier
        return_bool = bool(mod is not None and mod.return_bool)
        lhs = self._eval(e.lhs, t)
        rhs = self._eval(e.rhs, t)
        if isinstance(lhs, float) and isinstance(rhs, float):
            val, keep = _scalar_op(op, lhs, rhs)
            if op in COMPARISON_OPS:
                return float(keep)
            return val
        if isinstance(lhs, float) or isinstance(rhs, float):
            return _vector_scalar(op, lhs, rhs, return_bool)
        if op in SET_OPS:
            return _set_op(op, lhs, rhs, mod)
        return _vector_vector(op, lhs, rhs, mod, return_bool)


def _absent_labels(vs: pp.VectorSelector) -> Labels:
    eq: dict[str, str] = {}
    dup: set[str] = set()
    for m in vs.matchers.matchers:
        if m.name != NAME and str(m.op).endswith("Equal") and "Not" not in str(m.op):
            if m.name in eq:
                dup.add(m.name)
            eq[m.name] = m.value
    return tuple(sorted((k, v) for k, v in eq.items() if k not in dup))


def _scalar_op(op: str, a: float, b: float) -> tuple[float, bool]:
    """``(value, keep)``: arithmetic gives keep=True; comparisons give (a, result)."""
    if op == "+":
        return a + b, True
    if op == "-":
        return a - b, True
    if op == "*":
        return a * b, True
    if op == "/":
        if b == 0:
            return (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
                    * (1 if math.copysign(1, b) > 0 else -1)), True
        return a / b, True
    if op == "%":
        # Go's math.Mod: NaN for x = ±Inf or y = 0 (Python's fmod raises for ±Inf).
        return (math.fmod(a, b) if b != 0 and not math.isinf(a) else math.nan), True
    if op == "^":
        try:
            return math.pow(a, b), True
        except (OverflowError, ValueError):
            return math.inf if a > 0 else math.nan, True
    res = {
        "==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b,
    }[op]
    return a, res


def _vector_scalar(op: str, lhs: Value, rhs: Value, return_bool: bool) -> list[Sample]:
    swap = isinstance(lhs, float)
    vec = rhs if swap else lhs
    scalar = lhs if swap else rhs
    assert isinstance(vec, list) and isinstance(scalar, float)
    out = []
    for s in vec:
        a, b = (scalar, s.value) if swap else (s.value, scalar)
        val, keep = _scalar_op(op, a, b)
        if op in COMPARISON_OPS:
            val = s.value
            if return_bool:
                val, keep = float(keep), True
        if not keep:
            continue
        drop = op in ARITHMETIC_OPS or return_bool
        out.append(Sample(_without_name(s.labels) if drop else s.labels, val))
    return out


def _signature(labels: Labels, mod: pp.BinModifier | None) -> Labels:
    matching = mod.matching if mod is not None else None
    if matching is None:
        return _without_name(labels)
    names = set(matching.labels)
    if str(matching.type).endswith("Include"):
        return tuple(kv for kv in labels if kv[0] in names)
    return tuple(kv for kv in labels if kv[0] not in names and kv[0] != NAME)


def _set_op(
    op: str, lhs: list[Sample], rhs: list[Sample], mod: pp.BinModifier | None
) -> list[Sample]:
    rsigs = {_signature(s.labels, mod) for s in rhs}
    if op == "and":
        return [s for s in lhs if _signature(s.labels, mod) in rsigs]
    if op == "unless":
        return [s for s in lhs if _signature(s.labels, mod) not in rsigs]
    lsigs = {_signature(s.labels, mod) for s in lhs}
    return lhs + [s for s in rhs if _signature(s.labels, mod) not in lsigs]


def _vector_vector(
    op: str, lhs: list[Sample], rhs: list[Sample], mod: pp.BinModifier | None,
    return_bool: bool,
) -> list[Sample]:
    card = str(mod.card).rsplit(".", 1)[-1] if mod is not None else "OneToOne"
    swapped = card == "OneToMany"
    one, many = (lhs, rhs) if swapped else (rhs, lhs)
    index: dict[Labels, Sample] = {}
    for s in one:
        sig = _signature(s.labels, mod)
        if sig in index:
            raise PromQLError(
                "found duplicate series for the match group "
                f"{dict(sig)} on the {'left' if swapped else 'right'} hand-side of the operation"
            )
        index[sig] = s
    seen: set[Labels] = set()
    out = []
    include = list(mod.group_labels) if mod is not None and mod.group_labels else []
    on = (mod is not None and mod.matching is not None
          and str(mod.matching.type).endswith("Include"))
    match_names = set(mod.matching.labels) if mod is not None and mod.matching else set()
    for s in many:
        sig = _signature(s.labels, mod)
        other = index.get(sig)
        if other is None:
            continue
        a, b = (other, s) if swapped else (s, other)
        val, keep = _scalar_op(op, a.value, b.value)
        if op in COMPARISON_OPS:
            if return_bool:
                val, keep = float(keep), True
            else:
                val = a.value
        if not keep:
            continue
        labels = dict(s.labels)
        if op in ARITHMETIC_OPS or return_bool:
            labels.pop(NAME, None)
        if card == "OneToOne":
            if sig in seen:
                raise PromQLError(
                    "multiple matches for labels: many-to-one matching must be explicit "
                    "(group_left/group_right)"
                )
            seen.add(sig)
            if on:
                labels = {k: v for k, v in labels.items() if k in match_names}
            else:
                for k in match_names:
                    labels.pop(k, None)
        for k in include:
            v = dict(other.labels).get(k, "")
            if v:
                labels[k] = v
            else:
                labels.pop(k, None)
        out.append(Sample(tuple(sorted(labels.items())), val))
    return out


def group_key(samples: Sequence[Sample]) -> list[Labels]:
    """The label sets of ``samples`` (for tests and error messages)."""
    return [s.labels for s in samples]

"""Hypothesis strategies for PromQL text: grammar-shaped expressions (mostly valid, using
every construct the support check knows and some it refuses) and raw character soup."""

from __future__ import annotations

from hypothesis import strategies as st

from timeline_telemetry.promql.syntax import (
    AGGREGATIONS,
    MATH_FUNCS,
    OVER_TIME_FUNCS,
    RANGE_FUNCS,
)

NAMES = st.sampled_from(["m", "up", "system_cpu_usage_percent", "x_bucket", "a:b"])
LABELS = st.lists(
    st.tuples(st.sampled_from(["job", "le", "__name__", "a"]),
              st.sampled_from(["=", "!=", "=~", "!~"]),
              st.sampled_from(['"a"', '"a.*"', '""', '"(("', "'x'"])).map("".join),
    max_size=2,
).map(lambda ms: "{" + ", ".join(ms) + "}" if ms else "")
SELECTOR = st.tuples(NAMES, LABELS).map("".join)
RANGE = st.sampled_from(["[5m]", "[1h]", "[0s]", "[5m:1m]", "[99999999999999999999d]"])
NUMBER = st.sampled_from(["1", "0", "-1", "1e308", "1e999", "NaN", "Inf", "0.5", "0x1f"])
BINOPS = st.sampled_from(["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=",
                          "and", "or", "unless", "> bool", "atan2"])
MODIFIERS = st.sampled_from(["", " on()", " on(job)", " ignoring(a)", " on(job) group_left",
                             " group_right(a)"])
LEAF = st.one_of(SELECTOR, NUMBER, st.sampled_from(['"s"', "time()", "vector(1)"]),
                 st.tuples(st.sampled_from(sorted(RANGE_FUNCS | OVER_TIME_FUNCS
                                                  | {"absent_over_time"})),
                           SELECTOR, RANGE).map(lambda t: f"{t[0]}({t[1]}{t[2]})"))


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"-{e}"),
        st.tuples(inner, BINOPS, MODIFIERS, inner).map(lambda t: f"{t[0]} {t[1]}{t[2]} {t[3]}"),
        st.tuples(st.sampled_from(sorted(AGGREGATIONS | {"topk", "quantile"})),
                  st.sampled_from(["", " by (job)", " without (a)"]), inner)
        .map(lambda t: f"{t[0]}{t[1]}({t[2]})"),
        st.tuples(st.sampled_from(sorted(MATH_FUNCS | {"absent", "scalar", "clamp_min",
                                                       "histogram_quantile"})), inner)
        .map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.sampled_from([" offset 5m", " @ 100", ""])).map("".join),
    )


EXPRESSIONS = st.recursive(LEAF, _extend, max_leaves=10)
SOUP = st.text(alphabet="()[]{}\"'`#=!~<>+-*/%^,:.@ \nabcmnoprtuvxy019eEsdh_", max_size=80)
DEEP = st.tuples(st.integers(100, 20_000), st.sampled_from(["(", "abs(", "[", "{", "-("])).map(
    lambda t: t[1] * t[0] + "1" + ")" * t[0])
LONG_CHAINS = st.tuples(st.integers(100, 20_000), st.sampled_from([" + ", " or ", "/"])).map(
    lambda t: t[1].join(["up"] * t[0]))
ANY_EXPR = st.one_of(EXPRESSIONS, SOUP, DEEP, LONG_CHAINS)

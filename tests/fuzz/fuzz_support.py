"""Hypothesis settings shared by the fuzz tests: a few hundred examples a target in CI,
more with ``TIMELINE_TELEMETRY_FUZZ_EXAMPLES`` (e.g. 20000 for a long local run)."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES_ENV = "TIMELINE_TELEMETRY_FUZZ_EXAMPLES"
#: Examples per target; fixed (no Hypothesis profile lookup), so CI's cost is known.
MAX_EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "") or "200")

#: No per-example deadline (a slow CI machine must not fail a test), no example database
#: (nothing written into the tree), and the tmp_path fixture shared by the examples on
#: purpose: each writes the same file again.
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)



def mutate(node: Any, data: st.DataObject, *, keys: list[str], json: st.SearchStrategy[Any],
           scalars: st.SearchStrategy[Any], max_depth: int, depth: int = 0) -> Any:
    """A seed tree with random changes at random places: values replaced by random JSON
    (``json``), keys dropped or added (from ``keys``), list items duplicated."""
    choice = data.draw(st.integers(0, 9))
    if choice == 0 or depth > max_depth:
        return data.draw(json)
    kw = {"keys": keys, "json": json, "scalars": scalars, "max_depth": max_depth,
          "depth": depth + 1}
    if isinstance(node, dict):
        out = {k: mutate(v, data, **kw) for k, v in node.items()
               if data.draw(st.integers(0, 9))}
        if data.draw(st.integers(0, 9)) == 0:
            out[data.draw(st.sampled_from(keys))] = data.draw(json)
        return out
    if isinstance(node, list):
        items = [mutate(v, data, **kw) for v in node]
        if items and data.draw(st.integers(0, 4)) == 0:
            items.append(items[0])
        return items
    return node if choice > 2 else data.draw(scalars)

"""Hypothesis settings shared by the fuzz tests: a few hundred examples a target in CI,
more with ``TIMELINE_TELEMETRY_FUZZ_EXAMPLES`` (e.g. 20000 for a long local run)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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

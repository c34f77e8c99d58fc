"""Fuzzing the duration parsers: a float within the accepted range, or ValueError."""

from __future__ import annotations

import math

from fuzz_support import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from timeline_telemetry.alerts.rules import parse_prom_duration
from timeline_telemetry.config.durations import format_duration, parse_duration

CONFIG_UNITS = ["d", "h", "m", "s", "ms", "us"]
PROM_UNITS = ["y", "w", "d", "h", "m", "s", "ms"]
CENTURY_S = 100 * 365 * 86_400
PROM_MAX_S = (2**63 - 1) / 1000


def _durations(units: list[str]) -> st.SearchStrategy[str]:
    """Duration-shaped text: numbers from 0 to 10**40 (and thousands of digits) with units,
    in any order, sometimes with junk around."""
    number = st.one_of(st.integers(0, 10**40).map(str), st.integers(1, 6000).map(lambda n: "9" * n),
                       st.sampled_from(["", "-1", "1.5", "\u0663", "0x1", "1_0", " 1"]))
    part = st.tuples(number, st.sampled_from([*units, "", "x", "S", "µs"])).map("".join)
    return st.lists(part, min_size=1, max_size=4).map("".join)


TEXT = st.one_of(st.text(max_size=30), _durations(CONFIG_UNITS), _durations(PROM_UNITS))


@FUZZ
@given(text=TEXT)
def test_config_durations_are_in_range_or_value_errors(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        assert str(exc) and len(str(exc)) < 300
        return
    assert math.isfinite(seconds) and 0 <= seconds <= CENTURY_S
    assert parse_duration(format_duration(seconds)) == seconds


@FUZZ
@given(value=st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers())))
def test_config_durations_refuse_non_strings(value: object) -> None:
    try:
        parse_duration(value)  # type: ignore[arg-type]
    except ValueError:
        return
    raise AssertionError(f"{value!r} was accepted")


@FUZZ
@given(text=TEXT)
def test_rule_durations_are_in_range_or_value_errors(text: str) -> None:
    try:
        seconds = parse_prom_duration(text)
    except ValueError as exc:
        assert str(exc) and len(str(exc)) < 300
        return
    assert math.isfinite(seconds) and 0 <= seconds <= PROM_MAX_S

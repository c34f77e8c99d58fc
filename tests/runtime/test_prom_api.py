"""The local API's Prometheus shapes: values as Go writes them, times in RFC 3339."""

from __future__ import annotations

import pytest

from timeline_telemetry.alerts.prom_api import format_value, rfc3339


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1e+00"), (0.0, "0e+00"), (0.5, "5e-01"), (-2.5, "-2.5e+00"),
    (443756544.0, "4.43756544e+08"), (1e-7, "1e-07"), (1.2345678901234568e20,
                                                      "1.2345678901234568e+20"),
    (float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"),
])
def test_values_are_formatted_like_go(value: float, text: str) -> None:
    assert format_value(value) == text


def test_times_are_rfc3339_utc_and_never_is_gos_zero_time() -> None:
    assert rfc3339(0) == "0001-01-01T00:00:00Z"
    assert rfc3339(None) == "0001-01-01T00:00:00Z"
    assert rfc3339(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"

"""Template helpers print like Prometheus (Go's %v and the humanize family); the rule test
files cross-check a few of these against promtool as well."""

from __future__ import annotations

import pytest

from timeline_telemetry.alerts.templates import (
    TemplateError,
    check_template,
    expand,
    go_float,
    humanize,
    humanize_duration,
    humanize_percentage,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(85.0, "85"), (0.15, "0.15"), (1e6, "1e+06"), (123456.0, "123456"),
     (1234567.0, "1.234567e+06"), (1e-5, "1e-05"), (0.0001, "0.0001"), (-2.5, "-2.5"),
     (float("inf"), "+Inf"), (float("nan"), "NaN"), (30000.000000000004, "30000.000000000004")],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


def test_humanize_family() -> None:
    assert humanize(1234567) == "1.235M"
    assert humanize(0.0012) == "1.2m"
    assert humanize(0) == "0"
    assert humanize_percentage(0.1234) == "12.34%"
    assert humanize_duration(3725) == "1h 2m 5s"
    assert humanize_duration(90061) == "1d 1h 1m 1s"
    assert humanize_duration(2.5) == "2.5s"
    assert humanize_duration(0.25) == "250ms"


def test_expand_labels_value_pipes_and_printf() -> None:
    text = ("{{ $labels.host }}: {{ $value | humanizePercentage }} "
            '{{ printf "%.1f" $value }} {{ $labels.missing }}|')
    assert expand(text, {"host": "ws1"}, 0.123) == "ws1: 12.3% 0.1 |"


@pytest.mark.parametrize("text", ["{{ range .Alerts }}x{{ end }}", "{{ query \"up\" }}"])
def test_unsupported_template_constructs_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        check_template(text)

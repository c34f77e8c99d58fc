from __future__ import annotations

import pytest

from timeline_telemetry.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("500ms", 0.5),
    ("5s", 5.0),
    ("10m", 600.0),
    ("1h", 3600.0),
    ("24h", 86400.0),
    ("7d", 604800.0),
    ("1h30m", 5400.0),
    ("1m30s500ms", 90.5),
    ("0s", 0.0),
    ("250us", 0.00025),
    ("1d2h3m4s5ms6us", 93784.005006),
])
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize("text", [
    "5 sec", "", "-5s", "5", "5S", " 5s", "5s ", "1.5s", "s", "5sec", "1h 30m", "30m1h",
    "1m1m", "5ms5s", "1w",
])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as info:
        parse_duration(text)
    assert f'"{text}"' in str(info.value)
    assert "examples: 500ms, 5s, 10m, 1h, 7d" in str(info.value)


def test_exact_error_text_and_unit_hint() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("5 sec")
    assert str(info.value) == '"5 sec" is not a duration (examples: 500ms, 5s, 10m, 1h, 7d)'
    with pytest.raises(ValueError, match="add a unit"):
        parse_duration("5")
    with pytest.raises(ValueError, match="largest to smallest"):
        parse_duration("30m1h")


def test_absurdly_long_is_rejected() -> None:
    with pytest.raises(ValueError, match="100 years"):
        parse_duration("99999999999999999999999d")
    with pytest.raises(ValueError) as info:
        parse_duration("99999999999999999999d")
    assert str(info.value) == ('"99999999999999999999d" is longer than 100 years '
                               "(accepted: 0s to 36500d, i.e. 100 years)")
    assert parse_duration("36500d") == 36500 * 86400.0
    # Thousands of digits: our message, not Python's int() digit limit.
    with pytest.raises(ValueError, match="longer than 100 years"):
        parse_duration("9" * 5000 + "s")
    assert parse_duration("0" * 5000 + "1s") == 1.0


def test_only_ascii_digits() -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("\u0663s")  # ARABIC-INDIC DIGIT THREE


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0s"), (0.5, "500ms"), (5.0, "5s"), (60.0, "1m"), (90.0, "1m30s"), (90.5, "1m30s500ms"),
    (3600.0, "1h"), (5400.0, "1h30m"), (86400.0, "1d"), (604800.0, "7d"), (0.00025, "250us"),
    (0.1, "100ms"),
])
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_format_rejects(bad: float) -> None:
    with pytest.raises(ValueError):
        format_duration(bad)


@pytest.mark.parametrize("text", ["1ms", "999ms", "1s1ms", "7d", "23h59m59s999ms999us", "3us"])
def test_round_trip_is_exact(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds)) == seconds
    assert format_duration(seconds) == text

"""``telemetry.http``: the HTTP listeners' bounds, parsed, validated and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from timeline_telemetry.config import ConfigError, parse_config
from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import HttpConfig, TelemetryConfig


def _problems(http: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config({"telemetry": {"http": http}}, source="test", base_dir=Path("/base"))
    return {p.path: p.message for p in info.value.problems}


def test_defaults() -> None:
    assert TelemetryConfig().http == HttpConfig(
        header_timeout=10.0, min_body_rate_bytes=1024, idle_timeout=60.0,
        max_connections=32, reserved_connections=4,
    )
    rendered = config_to_json(TelemetryConfig())["telemetry"]
    assert isinstance(rendered, dict)
    assert rendered["http"] == {"header_timeout": "10s", "min_body_rate_bytes": 1024,
                                "idle_timeout": "1m", "max_connections": 32,
                                "reserved_connections": 4}


def test_values_are_read(tmp_path: Path) -> None:
    cfg = parse_config({"telemetry": {"http": {
        "header_timeout": "5s", "min_body_rate_bytes": 0, "idle_timeout": "2m",
        "max_connections": 8, "reserved_connections": 2}}}, source="t", base_dir=tmp_path)
    assert cfg.http == HttpConfig(5.0, 0, 120.0, 8, 2)
    again = parse_config(config_to_json(cfg), source="t", base_dir=tmp_path)
    assert again.http == cfg.http


def test_bad_values_name_the_key() -> None:
    found = _problems({"header_timeout": "0s", "min_body_rate_bytes": -1,
                       "idle_timeout": 60, "max_connections": 1, "nope": 1})
    assert set(found) == {
        "telemetry.http.header_timeout", "telemetry.http.min_body_rate_bytes",
        "telemetry.http.idle_timeout", "telemetry.http.max_connections", "telemetry.http.nope",
    }
    assert "longer than zero" in found["telemetry.http.header_timeout"]
    assert "out of range" in found["telemetry.http.max_connections"]


def test_the_reserve_must_leave_general_slots() -> None:
    found = _problems({"max_connections": 4, "reserved_connections": 4})
    assert found == {"telemetry.http.reserved_connections":
                     "4 leaves no connection for other requests: keep it below "
                     "max_connections (4)"}

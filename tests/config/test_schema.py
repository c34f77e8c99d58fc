from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest

import timeline_telemetry.config as config_pkg
from timeline_telemetry.config import OtlpExporterConfig, TelemetryConfig
from timeline_telemetry.config.schema import DiskSpaceCheckConfig, FrozenMap, json_keys


def test_all_is_what_the_package_exports() -> None:
    public = {n for n in vars(config_pkg) if not n.startswith("_")}
    modules = {
        "health_checks",
        "durations",
        "errors",
        "loader",
        "lookup",
        "render",
        "schema",
        "secrets",
        "sections",
        "exporters",
        "annotations",
        "alerts",
        "safe_load",
    }
    assert set(config_pkg.__all__) == public - modules


def test_frozen_and_source_not_compared() -> None:
    c = TelemetryConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.enabled = False  # type: ignore[misc]
    assert dataclasses.replace(c, source="elsewhere") == c
    assert "source" not in json_keys(TelemetryConfig)  # source is not a JSON key


def test_headers_are_a_read_only_copy() -> None:
    given = {"A": "1"}
    e = OtlpExporterConfig("http://o", given)
    given["A"] = "2"
    assert e.headers == {"A": "1"}
    assert isinstance(e.headers, FrozenMap)
    with pytest.raises(TypeError):
        e.headers["A"] = "3"  # type: ignore[index]
    assert hash(e) == hash(OtlpExporterConfig("http://o", {"A": "1"}))
    assert copy.deepcopy(e) == e and pickle.loads(pickle.dumps(e)) == e
    assert FrozenMap({"a": "b"}) != FrozenMap({"a": "c"}) and FrozenMap() != 3


def test_a_small_disk_limit_scales_the_default_warning_margin(tmp_path: Path) -> None:
    """max_used_fraction 0.05 alone must not be refused over a warning_margin not written."""
    from timeline_telemetry.config import parse_config

    cfg = parse_config({"telemetry": {"health": {"checks": [
        {"DiskSpace": {"path": str(tmp_path), "max_used_fraction": 0.05}}]}}},
        source="t", base_dir=tmp_path)
    assert cfg.health.checks is not None
    check = cfg.health.checks[0]
    assert isinstance(check, DiskSpaceCheckConfig)
    assert check.max_used_fraction == 0.05 and 0 < check.warning_margin < 0.05

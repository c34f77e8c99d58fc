"""``telemetry.health.checks``: parsing, errors (JSON path + what is accepted), rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import timeline_telemetry.health as health
from timeline_telemetry.config import ConfigError, TelemetryConfig, config_to_json, parse_config
from timeline_telemetry.config.schema import (
    DatabaseCheckConfig,
    DiskSpaceCheckConfig,
    FfmpegCheckConfig,
    HttpCheckConfig,
    MemoryCheckConfig,
    ProcessCheckConfig,
)

ISSUE_EXAMPLE = [
    {"DiskSpace": {"path": "/tmp", "max_used_fraction": 0.9}},
    {"Memory": {"max_used_fraction": 0.8}},
    {"Ffmpeg": {"encoders": ["libx264"]}},
    {"Database": {"path": "catalog.sqlite3"}},
    {"Http": {"url": "http://127.0.0.1:8080/health", "expected_status": 200,
              "latency_warning": "1s"}},
    {"Process": {"name": "timeline-studio"}},
]


def parse(checks: object, base_dir: Path = Path("/base")) -> TelemetryConfig:
    return parse_config({"telemetry": {"health": {"checks": checks}}}, source="test",
                        base_dir=base_dir)


def problems(checks: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse(checks)
    return {p.path: p.message for p in info.value.problems}


def test_the_issue_example() -> None:
    checks = parse(ISSUE_EXAMPLE).health.checks
    assert checks == (
        DiskSpaceCheckConfig(Path("/tmp"), 0.9),
        MemoryCheckConfig(0.8),
        FfmpegCheckConfig(("libx264",)),
        DatabaseCheckConfig(Path("/base/catalog.sqlite3")),
        HttpCheckConfig("http://127.0.0.1:8080/health", 200, 1.0),
        ProcessCheckConfig("timeline-studio"),
    )


def test_no_key_and_null_mean_the_defaults_and_empty_means_none() -> None:
    assert parse_config({"telemetry": {}}, source="t", base_dir=Path("/")).health.checks is None
    assert parse(None).health.checks is None
    assert parse([]).health.checks == ()


def test_name_and_timeout() -> None:
    (check,) = parse([{"Memory": {"name": "ram", "timeout": "1s500ms"}}]).health.checks or ()
    assert isinstance(check, MemoryCheckConfig)
    assert (check.check_name, check.timeout) == ("ram", 1.5)


@pytest.mark.parametrize(("checks", "path", "needle"), [
    ({"Memory": {}}, "telemetry.health.checks", "expected a list of checks"),
    (["Memory"], "telemetry.health.checks[0]", 'write {"Memory": {}}'),
    ([{"Cpu": {}}], "telemetry.health.checks[0]",
     'unknown check "Cpu" (accepted: DiskSpace, Memory, Ffmpeg, Database, Http, Process, '
     'GpuThrottle)'),
    ([{"Memory": {}, "Ffmpeg": {}}], "telemetry.health.checks[0]", "exactly one key"),
    ([{"Memory": {"max_used": 1}}], "telemetry.health.checks[0].Memory.max_used",
     "accepted: max_used_fraction, warning_margin, name, timeout"),
    ([{"DiskSpace": {}}], "telemetry.health.checks[0].DiskSpace.path", "missing; required"),
    ([{"DiskSpace": {"path": "/", "max_used_fraction": 1.5}}],
     "telemetry.health.checks[0].DiskSpace.max_used_fraction", "at most 1"),
    ([{"Memory": {"max_used_fraction": 0.5, "warning_margin": 0.6}}],
     "telemetry.health.checks[0].Memory.warning_margin", "not below max_used_fraction"),
    ([{"DiskSpace": {"path": "/", "footage_bitrate_mbps": -1}}],
     "telemetry.health.checks[0].DiskSpace.footage_bitrate_mbps", "Mbit/s"),
    ([{"Ffmpeg": {"encoders": ["lib x264"]}}], "telemetry.health.checks[0].Ffmpeg.encoders[0]",
     "not an encoder name"),
    ([{"Http": {"url": "ftp://x"}}], "telemetry.health.checks[0].Http.url", "http:// or https://"),
    ([{"Http": {"url": "http://x", "expected_status": 700}}],
     "telemetry.health.checks[0].Http.expected_status", "100 to 599"),
    ([{"Http": {"url": "http://x", "latency_warning": 1}}],
     "telemetry.health.checks[0].Http.latency_warning", "duration string"),
    ([{"Memory": {"timeout": "0s"}}], "telemetry.health.checks[0].Memory.timeout",
     "longer than zero"),
    ([{"Memory": {"name": "system"}}], "telemetry.health.checks[0].Memory.name", "reserved"),
    ([{"Memory": {}}, {"Memory": {}}], "telemetry.health.checks[1]",
     'check name "memory" is already used by checks[0]'),
    ([{"Process": {"name": ""}}], "telemetry.health.checks[0].Process.name", "executable name"),
])
def test_errors_name_the_path_and_what_is_accepted(checks: object, path: str,
                                                    needle: str) -> None:
    found = problems(checks)
    assert path in found, found
    assert needle in found[path]


def test_render_and_round_trip(tmp_path: Path) -> None:
    media = {"DiskSpace": {"path": "media", "footage_bitrate_mbps": 100, "name": "media",
                           "timeout": "2s"}}
    config = parse([*ISSUE_EXAMPLE, media], base_dir=tmp_path)
    shown = config_to_json(config, mask_secrets=False)
    rendered = shown["telemetry"]["health"]["checks"]  # type: ignore[index]
    assert rendered[0] == {"DiskSpace": {
        "path": "/tmp", "max_used_fraction": 0.9, "warning_margin": 0.05,
        "footage_bitrate_mbps": None, "name": None, "timeout": None}}
    assert rendered[4]["Http"]["latency_warning"] == "1s"
    assert rendered[6]["DiskSpace"]["timeout"] == "2s"
    assert rendered[6]["DiskSpace"]["path"] == str(tmp_path / "media")
    again = parse_config(json.loads(json.dumps(shown)), source=config.source,
                         base_dir=tmp_path / "elsewhere")
    assert again == config
    # and the default (no checks key) renders as null and comes back as the default
    default = config_to_json(TelemetryConfig())
    assert default["telemetry"]["health"]["checks"] is None  # type: ignore[index]
    assert parse_config(default, source="d", base_dir=Path("/")) == TelemetryConfig()


def test_package_surface() -> None:
    assert [n for n in health.__all__ if not hasattr(health, n)] == []
    assert len(set(health.__all__)) == len(health.__all__)


def test_import_starts_nothing() -> None:
    code = ("import sys, threading, timeline_telemetry.health; "
            "print(threading.active_count(), 'prometheus_client' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert res.stdout.split() == ["1", "False"]

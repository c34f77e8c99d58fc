"""Lookup order and environment overrides, with environ dicts and tmp dirs only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timeline_telemetry.config import (
    ConfigError,
    ConsoleExporterConfig,
    FileExporterConfig,
    PrometheusExporterConfig,
    apply_env_overrides,
    load_preset,
    parse_config,
    resolve_config,
)
from timeline_telemetry.paths import AppPaths


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})


def write(path: Path, service_name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"telemetry": {"service_name": service_name}}))
    return path


@pytest.fixture
def files(tmp_path: Path, paths: AppPaths) -> dict[str, Path]:
    return {
        "cli": write(tmp_path / "cli.json", "from-cli"),
        "env": write(tmp_path / "env.json", "from-env"),
        "user": write(paths.config_dir / "config.json", "from-user-dir"),
    }


def test_cli_path_wins(files: dict[str, Path], paths: AppPaths) -> None:
    c = resolve_config(cli_path=files["cli"], preset="production",
                       environ={"TELEMETRY_CONFIG": str(files["env"])}, paths=paths)
    assert c.service_name == "from-cli" and c.source == str(files["cli"])


def test_then_preset(files: dict[str, Path], paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset="production",
                       environ={"TELEMETRY_CONFIG": str(files["env"])}, paths=paths)
    assert c.service_name == "timeline-studio" and c.source == "preset production"


def test_then_env_var(files: dict[str, Path], paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset=None,
                       environ={"TELEMETRY_CONFIG": str(files["env"])}, paths=paths)
    assert c.service_name == "from-env"
    assert c.source == f"{files['env']} (from $TELEMETRY_CONFIG)"


def test_then_user_config_dir(files: dict[str, Path], paths: AppPaths) -> None:
    for environ in ({}, {"TELEMETRY_CONFIG": ""}):
        c = resolve_config(cli_path=None, preset=None, environ=environ, paths=paths)
        assert c.service_name == "from-user-dir" and c.source == str(files["user"])


def test_then_workstation_preset_against_the_data_dir(paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset=None, environ={}, paths=paths)
    assert c == load_preset("workstation", base_dir=paths.data_dir)
    assert c.source == f"preset workstation (no config file at {paths.config_dir / 'config.json'})"
    assert PrometheusExporterConfig(host="127.0.0.1", port=9464) in c.metrics.exporters
    assert FileExporterConfig(paths.data_dir / "metrics.jsonl") in c.metrics.exporters
    assert not any(isinstance(e, ConsoleExporterConfig)
                   for e in (*c.metrics.exporters, *c.tracing.exporters))
    assert not paths.data_dir.exists(), "resolving a config creates nothing"


def test_the_default_with_prometheus_port_moves_its_endpoint(paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset=None, environ={"PROMETHEUS_PORT": "0"}, paths=paths)
    assert PrometheusExporterConfig(host="127.0.0.1", port=0) in c.metrics.exporters
    assert sum(isinstance(e, PrometheusExporterConfig) for e in c.metrics.exporters) == 1


def test_load_preset_defaults_to_the_user_data_dir() -> None:
    # the root conftest points XDG_* at a tmp dir
    c = load_preset("development")
    assert FileExporterConfig(AppPaths.resolve().data_dir / "logs" / "metrics.json") in \
        c.metrics.exporters


def test_named_sources_never_fall_back(tmp_path: Path, paths: AppPaths) -> None:
    missing = tmp_path / "missing.json"
    for kwargs in ({"cli_path": missing, "environ": {}},
                   {"cli_path": None, "environ": {"TELEMETRY_CONFIG": str(missing)}}):
        with pytest.raises(ConfigError, match="cannot read the config file"):
            resolve_config(preset=None, paths=paths, **kwargs)  # type: ignore[arg-type]
    bad_user = paths.config_dir / "config.json"
    bad_user.parent.mkdir(parents=True)
    bad_user.write_text('{"telemetry": {"enabled": "no"}}')
    with pytest.raises(ConfigError, match=r"telemetry\.enabled: expected true or false"):
        resolve_config(cli_path=None, preset=None, environ={}, paths=paths)


# -- env overrides --------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "enabled"), [
    ("true", True), ("1", True), ("yes", True), ("YES", True), (" false ", False), ("0", False),
    ("no", False),
])
def test_telemetry_enabled(text: str, enabled: bool, paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset="production", environ={"TELEMETRY_ENABLED": text},
                       paths=paths)
    assert c.enabled is enabled
    assert c.source == f"preset production + TELEMETRY_ENABLED={text.strip()}"


def test_prometheus_port_sets_the_first_prometheus_exporter(paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset="production", environ={"PROMETHEUS_PORT": "9464"},
                       paths=paths)
    assert c.metrics.exporters == (PrometheusExporterConfig(port=9464, path="/metrics"),)
    assert c.source == "preset production + PROMETHEUS_PORT=9464"


def test_prometheus_port_adds_one_on_localhost(tmp_path: Path) -> None:
    base = parse_config({"telemetry": {"metrics": {"exporters": [{"Console": {}}]}}},
                        source="s", base_dir=tmp_path)
    c = apply_env_overrides(base, {"PROMETHEUS_PORT": "0"})
    assert c.metrics.exporters == (ConsoleExporterConfig(), PrometheusExporterConfig(port=0))
    assert c.metrics.exporters[1].host == "127.0.0.1"


def test_prometheus_port_clash_is_an_error(tmp_path: Path) -> None:
    base = parse_config({"telemetry": {"metrics": {"exporters": [
        {"Prometheus": {"port": 9100}}, {"Prometheus": {"port": 9101}}]}}},
        source="s", base_dir=tmp_path)
    with pytest.raises(ConfigError) as info:
        apply_env_overrides(base, {"PROMETHEUS_PORT": "9101"})
    assert str(info.value) == (
        "environment variable PROMETHEUS_PORT: port 9101 clashes with "
        "telemetry.metrics.exporters[1] (same Prometheus host:port 127.0.0.1:9101)")


def test_bad_env_values_name_the_variable_and_accepted_values(paths: AppPaths) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config(cli_path=None, preset="production", paths=paths,
                       environ={"TELEMETRY_ENABLED": "maybe", "PROMETHEUS_PORT": "http"})
    assert [str(p) for p in info.value.problems] == [
        'environment variable TELEMETRY_ENABLED: "maybe" is not a boolean '
        "(accepted: true, 1, yes, false, 0, no)",
        'environment variable PROMETHEUS_PORT: "http" is not a port '
        "(accepted: 1-65535, or 0 for any free port)",
    ]
    for port in ("70000", "-1", "90.5"):
        with pytest.raises(ConfigError, match=r"PROMETHEUS_PORT: .* is not a port"):
            resolve_config(cli_path=None, preset="production", paths=paths,
                           environ={"PROMETHEUS_PORT": port})


def test_empty_env_values_are_ignored(paths: AppPaths) -> None:
    c = resolve_config(cli_path=None, preset="production", paths=paths,
                       environ={"TELEMETRY_ENABLED": "", "PROMETHEUS_PORT": ""})
    assert c.source == "preset production"

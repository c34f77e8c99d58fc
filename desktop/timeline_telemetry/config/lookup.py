"""Which config the app uses, and the environment overrides applied on top.

Order: ``--config PATH``, ``--preset NAME``, ``$TELEMETRY_CONFIG``, ``config.json`` in the
user config dir, the ``workstation`` preset. Then ``TELEMETRY_ENABLED`` and
``PROMETHEUS_PORT`` (from the design document's compose file) override what the config says.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from timeline_telemetry.paths import AppPaths

from .errors import ConfigError, ConfigProblem
from .exporters import check_port
from .loader import load_config, load_preset
from .schema import MetricsExporterConfig, PrometheusExporterConfig, TelemetryConfig

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILE_NAME",
    "DEFAULT_PRESET",
    "ENABLED_ENV",
    "PROMETHEUS_PORT_ENV",
    "apply_env_overrides",
    "resolve_config",
]

CONFIG_ENV = "TELEMETRY_CONFIG"
ENABLED_ENV = "TELEMETRY_ENABLED"
PROMETHEUS_PORT_ENV = "PROMETHEUS_PORT"
CONFIG_FILE_NAME = "config.json"
#: What runs when nothing names a config: Prometheus and /health on 127.0.0.1:9464, File
#: exporters in the data dir, the OTLP receiver, history and the shipped alert rules.
DEFAULT_PRESET = "workstation"
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def resolve_config(
    *,
    cli_path: Path | None = None,
    preset: str | None = None,
    environ: Mapping[str, str] = os.environ,
    paths: AppPaths,
) -> TelemetryConfig:
    """The effective config: the first source in the lookup order, then env overrides.

    Empty environment variables count as unset. A named source that is missing or invalid
    raises :class:`ConfigError` (no silent fallback). Presets resolve relative paths against
    ``paths.data_dir``.
    """
    if cli_path is not None:
        config = load_config(cli_path)
    elif preset is not None:
        config = load_preset(preset, base_dir=paths.data_dir)
    elif environ.get(CONFIG_ENV, ""):
        from_env = load_config(Path(environ[CONFIG_ENV]).expanduser())
        config = replace(from_env, source=f"{from_env.source} (from ${CONFIG_ENV})")
    elif (paths.config_dir / CONFIG_FILE_NAME).is_file():
        config = load_config(paths.config_dir / CONFIG_FILE_NAME)
    else:
        default = load_preset(DEFAULT_PRESET, base_dir=paths.data_dir)
        where = paths.config_dir / CONFIG_FILE_NAME
        config = replace(default, source=f"{default.source} (no config file at {where})")
    return apply_env_overrides(config, environ)


def _env_path(name: str) -> str:
    return f"environment variable {name}"


def apply_env_overrides(config: TelemetryConfig, environ: Mapping[str, str]) -> TelemetryConfig:
    """Apply ``TELEMETRY_ENABLED`` and ``PROMETHEUS_PORT``; bad values raise ConfigError.

    ``PROMETHEUS_PORT`` sets the port of the first Prometheus exporter, or adds one on
    127.0.0.1 if the config has none. ``source`` notes what was overridden.
    """
    problems: list[ConfigProblem] = []
    notes: list[str] = []
    enabled_text = environ.get(ENABLED_ENV, "").strip()
    if enabled_text:
        if enabled_text.lower() in _TRUE + _FALSE:
            config = replace(config, enabled=enabled_text.lower() in _TRUE)
            notes.append(f"{ENABLED_ENV}={enabled_text}")
        else:
            problems.append(ConfigProblem(
                _env_path(ENABLED_ENV),
                f"{json.dumps(enabled_text)} is not a boolean "
                f"(accepted: {', '.join(_TRUE + _FALSE)})",
            ))
    port_text = environ.get(PROMETHEUS_PORT_ENV, "").strip()
    if port_text:
        port = check_port(int(port_text)) if port_text.isdecimal() else None
        if isinstance(port, int):
            config, clash = _with_prometheus_port(config, port)
            if clash:
                problems.append(ConfigProblem(_env_path(PROMETHEUS_PORT_ENV), clash))
            notes.append(f"{PROMETHEUS_PORT_ENV}={port}")
        else:
            problems.append(ConfigProblem(
                _env_path(PROMETHEUS_PORT_ENV),
                f"{json.dumps(port_text)} is not a port "
                "(accepted: 1-65535, or 0 for any free port)",
            ))
    if problems:
        raise ConfigError(problems, source=config.source)
    if notes:
        config = replace(config, source=f"{config.source} + {', '.join(notes)}")
    return config


def _with_prometheus_port(config: TelemetryConfig, port: int) -> tuple[TelemetryConfig, str]:
    exporters: list[MetricsExporterConfig] = list(config.metrics.exporters)
    first = next(
        (i for i, e in enumerate(exporters) if isinstance(e, PrometheusExporterConfig)), None
    )
    if first is None:
        exporters.append(PrometheusExporterConfig(port=port))
        first = len(exporters) - 1
    else:
        current = exporters[first]
        assert isinstance(current, PrometheusExporterConfig)
        exporters[first] = replace(current, port=port)
    target = exporters[first]
    assert isinstance(target, PrometheusExporterConfig)
    clash = ""
    for i, other in enumerate(exporters):
        if (i != first and isinstance(other, PrometheusExporterConfig) and port != 0
                and (other.host, other.port) == (target.host, port)):
            clash = (f"port {port} clashes with telemetry.metrics.exporters[{i}] "
                     f"(same Prometheus host:port {other.host}:{port})")
    metrics = replace(config.metrics, exporters=tuple(exporters))
    return replace(config, metrics=metrics), clash

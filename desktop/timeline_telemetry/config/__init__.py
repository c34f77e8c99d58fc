"""The monitor's configuration: schema, loading and validation, presets, secret references.

Entry points: :func:`resolve_config` (what the app runs with), :func:`load_config`,
:func:`load_preset`, :func:`parse_config`, :func:`validate_file`, :func:`config_to_json`.
Importing does no work; ``keyring`` is imported only when a secret is used.
"""

from __future__ import annotations

from .durations import format_duration, parse_duration
from .errors import ConfigError, ConfigProblem
from .loader import (
    PRESET_NAMES,
    load_config,
    load_preset,
    parse_config,
    preset_as_file,
    validate_file,
)
from .lookup import apply_env_overrides, resolve_config
from .render import config_to_json
from .schema import (
    AggregationConfig,
    BatchExportConfig,
    CollectorsConfig,
    ConsoleExporterConfig,
    EditorConfig,
    FileExporterConfig,
    HealthConfig,
    HistoryConfig,
    JaegerExporterConfig,
    LoggingConfig,
    MetricsConfig,
    MetricsExporterConfig,
    OtlpExporterConfig,
    PrometheusExporterConfig,
    RemoteWriteExporterConfig,
    TelemetryConfig,
    TracingConfig,
    TracingExporterConfig,
)
from .secrets import SecretError, is_secret_ref, resolve_secret, set_secret

__all__ = [
    "PRESET_NAMES",
    "AggregationConfig",
    "BatchExportConfig",
    "CollectorsConfig",
    "ConfigError",
    "ConfigProblem",
    "ConsoleExporterConfig",
    "EditorConfig",
    "FileExporterConfig",
    "HealthConfig",
    "HistoryConfig",
    "JaegerExporterConfig",
    "LoggingConfig",
    "MetricsConfig",
    "MetricsExporterConfig",
    "OtlpExporterConfig",
    "PrometheusExporterConfig",
    "RemoteWriteExporterConfig",
    "SecretError",
    "TelemetryConfig",
    "TracingConfig",
    "TracingExporterConfig",
    "apply_env_overrides",
    "config_to_json",
    "format_duration",
    "is_secret_ref",
    "load_config",
    "load_preset",
    "parse_config",
    "parse_duration",
    "preset_as_file",
    "resolve_config",
    "resolve_secret",
    "set_secret",
    "validate_file",
]

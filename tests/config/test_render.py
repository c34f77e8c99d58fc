"""``config show``'s JSON: every key, durations as strings, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

from timeline_telemetry.config import (
    MetricsConfig,
    OtlpExporterConfig,
    TelemetryConfig,
    TracingConfig,
    config_to_json,
    parse_config,
)
from timeline_telemetry.config.render import mask_json


def test_default_config_renders_every_key() -> None:
    data = config_to_json(TelemetryConfig())
    t = data["telemetry"]
    assert isinstance(t, dict)
    assert list(t) == ["enabled", "service_name", "service_version", "tracing", "metrics",
                       "health", "ingest", "editor", "logging", "alerts", "budget"]
    assert t["metrics"]["collection_interval"] == "10s"
    assert t["metrics"]["retention_period"] == "1h"
    assert t["metrics"]["history"] == {"enabled": True, "path": None}
    assert t["tracing"]["batch_export"] == {"max_batch_size": 512, "max_export_timeout": "30s",
                                            "export_interval": "5s"}
    json.dumps(data)  # plain JSON types only
    assert parse_config(data, source="defaults", base_dir=Path("/")) == TelemetryConfig()


def otlp_config(**headers: str) -> TelemetryConfig:
    return TelemetryConfig(tracing=TracingConfig(exporters=(
        OtlpExporterConfig("http://o:4318", headers, "gzip", 2.5),)))


def test_literal_header_values_are_masked_references_shown() -> None:
    c = otlp_config(Authorization="Bearer s3cr3t", **{"X-Api-Key": "keyring:otlp_key",
                                                       "X-Tenant": "acme", "X-Token": "env:TOK"})
    shown = config_to_json(c)
    (exp,) = shown["telemetry"]["tracing"]["exporters"]  # type: ignore[index]
    assert exp == {"Otlp": {"endpoint": "http://o:4318", "compression": "gzip",
                            "timeout": "2s500ms",
                            "headers": {"Authorization": "***", "X-Api-Key": "keyring:otlp_key",
                                        "X-Tenant": "***", "X-Token": "env:TOK"}}}
    assert "s3cr3t" not in json.dumps(shown)
    unmasked = config_to_json(c, mask_secrets=False)
    assert "Bearer s3cr3t" in json.dumps(unmasked)
    assert parse_config(unmasked, source=c.source, base_dir=Path("/")) == c


def test_secret_looking_keys_anywhere_are_masked() -> None:
    # later sections (SMTP, PagerDuty) put secrets under such keys; the masking is by key name
    data = {"smtp": {"password": "pw", "user": "me", "api_key": "k", "routing_key": "env:RK",
                     "nested": {"Secret": "s", "token_url": "https://x"}, "empty_token": ""}}
    assert mask_json(data) == {
        "smtp": {"password": "***", "user": "me", "api_key": "***", "routing_key": "env:RK",
                 "nested": {"Secret": "***", "token_url": "***"}, "empty_token": ""}}


def test_non_secret_config_is_unchanged_by_masking() -> None:
    c = TelemetryConfig(metrics=MetricsConfig(collection_interval=0.25))
    assert config_to_json(c) == config_to_json(c, mask_secrets=False)
    assert config_to_json(c)["telemetry"]["metrics"]["collection_interval"] == "250ms"  # type: ignore[index]

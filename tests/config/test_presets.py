"""The design document's three environment examples, shipped as presets, and the default
``workstation``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import timeline_telemetry.config as config_pkg
from timeline_telemetry.config import (
    PRESET_NAMES,
    ConfigError,
    ConsoleExporterConfig,
    FileExporterConfig,
    JaegerExporterConfig,
    PrometheusExporterConfig,
    TelemetryConfig,
    config_to_json,
    load_config,
    load_preset,
    parse_config,
)

REPO = Path(__file__).resolve().parents[2]
CANONICAL = REPO / "resources" / "presets"
PACKAGED = Path(config_pkg.__file__).parent / "presets"


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_packaged_copy_matches_the_canonical_file(name: str) -> None:
    assert (PACKAGED / f"{name}.json").read_bytes() == (CANONICAL / f"{name}.json").read_bytes(), (
        f"copy resources/presets/{name}.json to desktop/timeline_telemetry/config/presets/"
    )


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_each_preset_loads_and_the_canonical_file_validates(name: str, tmp_path: Path) -> None:
    config = load_preset(name, base_dir=CANONICAL)
    assert config.source == f"preset {name}"
    # as a plain file, relative paths resolve against the file's dir: the same here
    assert load_config(CANONICAL / f"{name}.json") == config


def test_preset_names() -> None:
    assert PRESET_NAMES == ("workstation", "development", "production", "high-load")


def test_workstation(tmp_path: Path) -> None:
    """The default: served and written locally, nothing printed, nothing on the network."""
    c = load_preset("workstation", base_dir=tmp_path)
    assert c.enabled and c.service_name == "timeline-studio"
    assert (c.metrics.collection_interval, c.metrics.retention_period) == (10.0, 7 * 86400.0)
    assert c.metrics.exporters == (
        PrometheusExporterConfig(host="127.0.0.1", port=9464, path="/metrics"),
        FileExporterConfig(tmp_path / "metrics.jsonl", max_bytes=50 * 1024 * 1024, backups=3),
    )
    assert c.tracing.exporters == (
        FileExporterConfig(tmp_path / "traces.jsonl", max_bytes=50 * 1024 * 1024, backups=3),)
    assert c.metrics.history.enabled and c.metrics.history.path is None  # <data>/history.sqlite3
    otlp = c.ingest.otlp
    assert (otlp.enabled, otlp.host, otlp.port) == (True, "127.0.0.1", 4318)
    assert c.alerts.enabled and c.alerts.rule_files is None  # the shipped alert_rules.yml
    assert c.alerts.desktop_notifications and c.alerts.actions == ()
    assert c.health.enabled and c.health.checks is None  # data drive, memory, ffmpeg


def test_workstation_has_no_console_exporter(tmp_path: Path) -> None:
    c = load_preset("workstation", base_dir=tmp_path)
    exporters = (*c.metrics.exporters, *c.tracing.exporters)
    assert not [e for e in exporters if isinstance(e, ConsoleExporterConfig)]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_listener_of_a_preset_is_local(name: str, tmp_path: Path) -> None:
    c = load_preset(name, base_dir=tmp_path)
    hosts = [e.host for e in c.metrics.exporters if isinstance(e, PrometheusExporterConfig)]
    assert set(hosts) <= {"127.0.0.1"}
    assert c.ingest.otlp.host == "127.0.0.1"


def test_workstation_differs_from_the_defaults_only_where_it_says(tmp_path: Path) -> None:
    """Keys the preset leaves out are the schema's defaults (no surprises from an edit
    of ``schema.py`` the preset did not mean)."""
    c = load_preset("workstation", base_dir=tmp_path)
    d = TelemetryConfig()
    assert (c.editor, c.budget, c.logging) == (d.editor, d.budget, d.logging)
    assert c.metrics.collectors == d.metrics.collectors


def test_development(tmp_path: Path) -> None:
    c = load_preset("development", base_dir=tmp_path)
    assert (c.service_name, c.service_version) == ("timeline-studio-dev", "dev-build")
    assert c.tracing.sample_rate == 1.0
    assert (c.tracing.max_attributes_per_span, c.tracing.max_events_per_span) == (128, 256)
    assert c.tracing.exporters == (ConsoleExporterConfig(),
                                   FileExporterConfig(tmp_path / "logs" / "traces.json"))
    assert (c.metrics.collection_interval, c.metrics.retention_period) == (5.0, 3600.0)
    # the design document's "./logs/metrics.json" lands in the data dir for a preset
    assert c.metrics.exporters == (ConsoleExporterConfig(),
                                   FileExporterConfig(tmp_path / "logs" / "metrics.json"))
    assert (c.health.check_interval, c.health.cache_ttl, c.health.default_timeout) == (
        10.0, 30.0, 2.0)


def test_production(tmp_path: Path) -> None:
    c = load_preset("production", base_dir=tmp_path)
    assert c.tracing.sample_rate == 0.01
    assert c.tracing.exporters == (
        JaegerExporterConfig("http://jaeger-collector:14268/api/traces"),)
    assert (c.metrics.collection_interval, c.metrics.retention_period) == (15.0, 86400.0)
    assert c.metrics.exporters == (PrometheusExporterConfig(port=9464, path="/metrics"),)
    assert c.metrics.exporters[0].host == "127.0.0.1"
    assert (c.health.check_interval, c.health.cache_ttl) == (30.0, 60.0)


def test_high_load(tmp_path: Path) -> None:
    c = load_preset("high-load", base_dir=tmp_path)
    assert c.service_name == "timeline-studio-cluster"
    assert c.tracing.sample_rate == 0.001
    assert (c.tracing.batch_export.max_batch_size, c.tracing.batch_export.max_export_timeout,
            c.tracing.batch_export.export_interval) == (1000, 10.0, 30.0)
    assert c.tracing.exporters == (
        JaegerExporterConfig("http://jaeger-cluster:14268/api/traces", "gzip"),)
    assert c.metrics.retention_period == 7 * 86400.0
    assert c.metrics.aggregation.histogram_buckets == (0.001, 0.01, 0.1, 1, 10, 100, 1000)
    assert c.metrics.aggregation.summary_quantiles == (0.5, 0.9, 0.95, 0.99)
    assert c.metrics.exporters == (PrometheusExporterConfig(enable_compression=True),)
    assert (c.health.check_interval, c.health.cache_ttl, c.health.default_timeout,
            c.health.parallel_checks) == (60.0, 120.0, 10.0, True)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_round_trip(name: str, tmp_path: Path) -> None:
    config = load_preset(name, base_dir=tmp_path)
    data = config_to_json(config, mask_secrets=False)
    again = parse_config(json.loads(json.dumps(data)), source=config.source,
                         base_dir=tmp_path / "elsewhere")
    assert again == config


def test_unknown_preset_lists_the_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_preset("staging", base_dir=tmp_path)
    assert str(info.value) == (
        'preset: unknown preset "staging" '
        '(accepted: workstation, development, production, high-load)')


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_a_preset_written_as_a_file_means_the_same(name: str, tmp_path: Path) -> None:
    """The settings dialog's first config.json: same config, wherever the file lives."""
    from timeline_telemetry.config import parse_config, preset_as_file

    data_dir = tmp_path / "data"
    text = preset_as_file(name, base_dir=data_dir)
    as_file = parse_config(json.loads(text), source="file", base_dir=tmp_path / "config")
    assert as_file == load_preset(name, base_dir=data_dir)

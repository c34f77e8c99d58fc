"""Every kind of config problem, asserted on its JSON path and message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from timeline_telemetry.config import (
    ConfigError,
    ConfigProblem,
    ConsoleExporterConfig,
    FileExporterConfig,
    JaegerExporterConfig,
    OtlpExporterConfig,
    PrometheusExporterConfig,
    TelemetryConfig,
    load_config,
    parse_config,
    validate_file,
)


def problems(data: object, base_dir: Path = Path("/base")) -> dict[str, str]:
    """path -> message of every problem (asserting there is at most one per path)."""
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="test", base_dir=base_dir)
    out: dict[str, str] = {}
    for p in info.value.problems:
        assert p.path not in out, f"two problems at {p.path}"
        out[p.path] = p.message
    assert str(info.value) == "\n".join(f"{p.path}: {p.message}" for p in info.value.problems)
    assert info.value.source == "test"
    return out


def tel(**body: object) -> dict[str, object]:
    return {"telemetry": body}


def metrics(**body: object) -> dict[str, object]:
    return tel(metrics=body)


def test_empty_telemetry_is_the_default_config(tmp_path: Path) -> None:
    config = parse_config({"telemetry": {}}, source="s", base_dir=tmp_path)
    assert config == TelemetryConfig()
    assert config.source == "s"
    assert config.metrics.collection_interval == 10.0
    assert config.metrics.retention_period == 3600.0
    assert config.tracing.sample_rate == 0.1
    assert config.metrics.history.path is None


def test_full_valid_config(tmp_path: Path) -> None:
    data = tel(
        enabled=False, service_name="svc", service_version="2",
        tracing={"enabled": False, "sample_rate": 1, "max_attributes_per_span": 8,
                 "max_events_per_span": 9, "debug_mode": True, "log_spans": True,
                 "batch_export": {"max_batch_size": 10, "max_export_timeout": "1s",
                                  "export_interval": "500ms"},
                 "exporters": [{"Console": {}}, {"File": {"path": "t.jsonl", "backups": 0}},
                               {"Jaeger": {"endpoint": "http://j:14268/api/traces"}},
                               {"Otlp": {"endpoint": "https://o:4318", "timeout": "3s",
                                         "compression": "gzip",
                                         "headers": {"Authorization": "env:OTLP_TOKEN"}}}]},
        metrics={"enabled": True, "collection_interval": "1s", "retention_period": "7d",
                 "aggregation": {"histogram_buckets": [0.1, 1, 10],
                                 "summary_quantiles": [0, 0.5, 1]},
                 "exporters": [{"Prometheus": {"port": 0, "host": "0.0.0.0", "path": "/m",
                                               "enable_compression": True}},
                               {"File": {"path": "~/m.jsonl", "max_bytes": 1000}},
                               {"Console": None}],
                 "collectors": {"system": False, "per_cpu": False, "gpu": False,
                                "disk_paths": ["/", "/media"], "process_rescan_interval": "1m"},
                 "history": {"enabled": False, "path": "h/history.db"}},
        health={"enabled": False, "check_interval": "1s", "cache_ttl": "0s",
                "default_timeout": "1s", "parallel_checks": True},
        editor={"process_names": ["ts", "ffmpeg"], "media_dirs": ["/m"], "cache_dirs": ["/c"]},
        logging={"level": "debug"},
    )
    c = parse_config(data, source="s", base_dir=tmp_path)
    assert c.enabled is False and c.service_name == "svc"
    assert c.tracing.sample_rate == 1.0 and c.tracing.batch_export.export_interval == 0.5
    assert c.tracing.exporters == (
        ConsoleExporterConfig(),
        FileExporterConfig(tmp_path / "t.jsonl", 50 * 1024 * 1024, 0),
        JaegerExporterConfig("http://j:14268/api/traces", "none"),
        OtlpExporterConfig("https://o:4318", {"Authorization": "env:OTLP_TOKEN"}, "gzip", 3.0),
    )
    assert c.metrics.exporters == (
        PrometheusExporterConfig(0, "/m", True, "0.0.0.0"),
        FileExporterConfig(Path.home() / "m.jsonl", 1000, 3),
        ConsoleExporterConfig(),
    )
    assert c.metrics.aggregation.histogram_buckets == (0.1, 1.0, 10.0)
    assert c.metrics.aggregation.summary_quantiles == (0.0, 0.5, 1.0)
    assert c.metrics.collectors.disk_paths == ("/", "/media")
    assert c.metrics.collectors.process_rescan_interval == 60.0
    assert c.metrics.history.path == tmp_path / "h" / "history.db"
    assert c.health.cache_ttl == 0.0 and c.health.parallel_checks is True
    assert c.editor.process_names == ("ts", "ffmpeg")
    assert c.logging.level == "DEBUG"
    hash(c)  # frozen all the way down, headers included


def test_the_issue_example_message() -> None:
    got = problems(metrics(collection_interval="5 sec"))
    assert got == {"telemetry.metrics.collection_interval":
                   '"5 sec" is not a duration (examples: 500ms, 5s, 10m, 1h, 7d)'}


def test_all_problems_are_reported_together() -> None:
    got = problems(tel(bogus=1, enabled="yes", tracing={"sample_rate": 2},
                       metrics={"collection_interval": "5 sec",
                                "exporters": [{"Prometheus": {"port": 70000}}]}))
    assert set(got) == {"telemetry.bogus", "telemetry.enabled", "telemetry.tracing.sample_rate",
                        "telemetry.metrics.collection_interval",
                        "telemetry.metrics.exporters[0].Prometheus.port"}


@pytest.mark.parametrize(("data", "path", "needles"), [
    (tel(bogus=1), "telemetry.bogus",
     ["unknown key", "accepted: enabled, service_name, service_version, tracing, metrics"]),
    (metrics(colection_interval="5s"), "telemetry.metrics.colection_interval",
     ["unknown key", "collection_interval"]),
    (metrics(exporters=[{"Prometheus": {"prot": 1}}]),
     "telemetry.metrics.exporters[0].Prometheus.prot",
     ["unknown key", "accepted: port, path, enable_compression, host"]),
    (tel(health={"check_interval": "1s", "checkz": []}), "telemetry.health.checkz",
     ["unknown key", "parallel_checks, checks"]),
    ({"telemetry": {}, "extra": 1}, "extra", ["unknown top-level key", "accepted: telemetry"]),
])
def test_unknown_keys(data: object, path: str, needles: list[str]) -> None:
    message = problems(data)[path]
    for n in needles:
        assert n in message


@pytest.mark.parametrize(("data", "path", "needle"), [
    (tel(enabled="yes"), "telemetry.enabled", 'expected true or false, got "yes"'),
    (tel(enabled=1), "telemetry.enabled", "expected true or false, got 1"),
    (tel(service_name=5), "telemetry.service_name", "expected a string, got 5"),
    (tel(service_name=" "), "telemetry.service_name", "must not be empty"),
    (tel(tracing=[]), "telemetry.tracing", "expected an object {...}, got a list"),
    (tel(tracing={"max_events_per_span": 1.5}), "telemetry.tracing.max_events_per_span",
     "expected an integer, got 1.5"),
    (tel(tracing={"max_events_per_span": True}), "telemetry.tracing.max_events_per_span",
     "expected an integer, got true"),
    (tel(tracing={"max_attributes_per_span": 0}), "telemetry.tracing.max_attributes_per_span",
     "0 is out of range (accepted: 1 or more)"),
    (tel(tracing={"sample_rate": "0.5"}), "telemetry.tracing.sample_rate",
     'expected a number, got "0.5"'),
    (tel(tracing={"sample_rate": float("nan")}), "telemetry.tracing.sample_rate",
     "expected a finite number"),
    (metrics(collection_interval=10), "telemetry.metrics.collection_interval",
     'expected a duration string such as "5s", got 10'),
    (metrics(exporters={}), "telemetry.metrics.exporters", "expected a list of exporters"),
    (metrics(collectors={"disk_paths": "/"}), "telemetry.metrics.collectors.disk_paths",
     'expected a list [...], got "/"'),
    (tel(editor={"process_names": ["ok", 3]}), "telemetry.editor.process_names[1]",
     "expected a non-empty string, got 3"),
    (metrics(history={"path": 3}), "telemetry.metrics.history.path",
     "expected a file path string or null, got 3"),
    (tel(logging={"level": "TRACE"}), "telemetry.logging.level",
     '"TRACE" is not accepted (accepted: DEBUG, INFO, WARNING, ERROR)'),
    (metrics(exporters=[{"File": {"path": "x", "max_bytes": "1MB"}}]),
     "telemetry.metrics.exporters[0].File.max_bytes", 'expected an integer, got "1MB"'),
    (metrics(exporters=[{"Prometheus": []}]), "telemetry.metrics.exporters[0].Prometheus",
     "expected an object {...}, got a list"),
])
def test_wrong_types_and_ranges(data: object, path: str, needle: str) -> None:
    assert needle in problems(data)[path]


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("collection_interval", "5 sec", '"5 sec" is not a duration (examples: 500ms'),
    ("collection_interval", "0s", '"0s" must be longer than zero'),
    ("retention_period", "-1h", '"-1h" is not a duration'),
    ("retention_period", "1h 30m", '"1h 30m" is not a duration'),
])
def test_bad_durations(key: str, value: str, needle: str) -> None:
    assert needle in problems(metrics(**{key: value}))[f"telemetry.metrics.{key}"]


def test_retention_shorter_than_interval() -> None:
    got = problems(metrics(collection_interval="1m", retention_period="30s"))
    assert got == {"telemetry.metrics.retention_period":
                   "30s is shorter than collection_interval (1m); keep at least one collection"}
    # a bad interval does not also produce a misleading comparison
    assert set(problems(metrics(collection_interval="x", retention_period="1s"))) == {
        "telemetry.metrics.collection_interval"}


@pytest.mark.parametrize(("rate", "ok"), [(0, True), (1, True), (0.5, True), (-0.01, False),
                                          (1.5, False)])
def test_sample_rate_bounds(rate: float, ok: bool, tmp_path: Path) -> None:
    data = tel(tracing={"sample_rate": rate})
    if ok:
        assert parse_config(data, source="s", base_dir=tmp_path).tracing.sample_rate == rate
    else:
        assert problems(data) == {"telemetry.tracing.sample_rate":
                                  f"{rate:g} is out of range (accepted: 0 to 1)"}


@pytest.mark.parametrize(("port", "ok"), [(0, True), (1, True), (65535, True), (65536, False),
                                          (-1, False), (70000, False)])
def test_port_bounds(port: int, ok: bool, tmp_path: Path) -> None:
    data = metrics(exporters=[{"Prometheus": {"port": port}}])
    if ok:
        config = parse_config(data, source="s", base_dir=tmp_path)
        assert config.metrics.exporters == (PrometheusExporterConfig(port=port),)
    else:
        assert problems(data) == {"telemetry.metrics.exporters[0].Prometheus.port":
                                  f"{port} is not a port (accepted: 1-65535, or 0 for any "
                                  "free port)"}


def test_port_wrong_type() -> None:
    msg = problems(metrics(exporters=[{"Prometheus": {"port": "9090"}}]))
    assert msg["telemetry.metrics.exporters[0].Prometheus.port"].startswith(
        'expected a port number, got "9090"')


def test_buckets_must_increase_and_be_numbers() -> None:
    got = problems(metrics(aggregation={"histogram_buckets": [1, 5, 5, 2, "x", 10]}))
    base = "telemetry.metrics.aggregation.histogram_buckets"
    assert got == {
        f"{base}[2]": "5 is not greater than the bucket before it (5); "
                      "buckets must be strictly increasing",
        f"{base}[3]": "2 is not greater than the bucket before it (5); "
                      "buckets must be strictly increasing",
        f"{base}[4]": 'expected a number, got "x"',
    }


def test_quantiles_in_unit_interval() -> None:
    got = problems(metrics(aggregation={"summary_quantiles": [0.5, 1.5, -0.1, 0.5]}))
    base = "telemetry.metrics.aggregation.summary_quantiles"
    assert got == {f"{base}[1]": "1.5 is not a quantile (accepted: 0 to 1)",
                   f"{base}[2]": "-0.1 is not a quantile (accepted: 0 to 1)",
                   f"{base}[3]": "0.5 is listed twice"}


def test_unknown_exporter_names_the_accepted_ones() -> None:
    assert problems(metrics(exporters=[{"Graphite": {}}])) == {
        "telemetry.metrics.exporters[0]":
            'unknown exporter "Graphite" (accepted: Console, File, Prometheus, RemoteWrite)'}
    assert problems(tel(tracing={"exporters": [{"Zipkin": {}}]})) == {
        "telemetry.tracing.exporters[0]":
            'unknown exporter "Zipkin" (accepted: Console, File, Jaeger, Otlp)'}


def test_jaeger_in_metrics_says_it_is_for_traces() -> None:
    got = problems(metrics(exporters=[{"Jaeger": {"endpoint": "http://j:14268"}}]))
    msg = got["telemetry.metrics.exporters[0]"]
    assert "Jaeger is for traces" in msg and "telemetry.tracing.exporters" in msg
    got = problems(tel(tracing={"exporters": [{"Prometheus": {}}]}))
    assert "Prometheus serves metrics" in got["telemetry.tracing.exporters[0]"]


@pytest.mark.parametrize(("item", "needle"), [
    ({"Console": {}, "File": {"path": "x"}}, "exactly one key naming its kind "
     "(accepted: Console, File, Prometheus, RemoteWrite); got 2 keys (Console, File)"),
    ({}, "exactly one key naming its kind (accepted: Console, File, Prometheus, "
     "RemoteWrite); got an empty object"),
    ("Console", 'got "Console"; write {"Console": {}}'),
    (3, 'expected an exporter object such as {"Console": {}}, got 3'),
])
def test_exporter_shape(item: object, needle: str) -> None:
    assert needle in problems(metrics(exporters=[item]))["telemetry.metrics.exporters[0]"]


@pytest.mark.parametrize(("exporters", "needle"), [
    ([{"Console": {}}, {"Console": {}}], "a second Console exporter"),
    ([{"File": {"path": "a/m.jsonl"}}, {"File": {"path": "/base/b/../a/./m.jsonl"}}],
     "same File path /base/a/m.jsonl"),
    ([{"File": {"path": "m.jsonl"}}, {"File": {"path": "/base/m.jsonl"}}],
     "same File path /base/m.jsonl"),
    ([{"Prometheus": {"port": 9100}}, {"Prometheus": {"port": 9100, "host": "127.0.0.1"}}],
     "same Prometheus host:port 127.0.0.1:9100"),
])
def test_duplicate_metrics_exporters(exporters: list[object], needle: str) -> None:
    got = problems(metrics(exporters=exporters))
    assert got == {"telemetry.metrics.exporters[1]":
                   f"duplicate of exporters[0]: {needle} (remove one)"}


def test_not_duplicates(tmp_path: Path) -> None:
    config = parse_config(metrics(exporters=[
        {"Prometheus": {"port": 0}}, {"Prometheus": {"port": 0}},  # each gets its own port
        {"Prometheus": {"port": 9100}}, {"Prometheus": {"port": 9100, "host": "::1"}},
        {"Prometheus": {"port": 9101}},
    ]), source="s", base_dir=tmp_path)
    assert len(config.metrics.exporters) == 5


def test_duplicate_tracing_endpoints() -> None:
    got = problems(tel(tracing={"exporters": [
        {"Jaeger": {"endpoint": "http://j:14268/api/traces"}},
        {"Jaeger": {"endpoint": "http://j:14268/api/traces/"}},
        {"Otlp": {"endpoint": "http://o:4318"}},
        {"Otlp": {"endpoint": "http://o:4318", "compression": "gzip"}},
    ]}))
    assert got == {
        "telemetry.tracing.exporters[1]": "duplicate of exporters[0]: same Jaeger endpoint "
                                          "http://j:14268/api/traces (remove one)",
        "telemetry.tracing.exporters[3]": "duplicate of exporters[2]: same Otlp endpoint "
                                          "http://o:4318 (remove one)",
    }


def test_same_file_for_traces_metrics_or_history() -> None:
    got = problems(tel(tracing={"exporters": [{"File": {"path": "out.json"}}]},
                       metrics={"exporters": [{"File": {"path": "/base/out.json"}}],
                                "history": {"path": "out.json"}}))
    assert got == {
        "telemetry.metrics.exporters[0]": "writes the same file as "
        "telemetry.tracing.exporters[0] (/base/out.json); give each its own path",
        "telemetry.metrics.history.path": "writes the same file as "
        "telemetry.tracing.exporters[0] (/base/out.json); give each its own path",
    }


@pytest.mark.parametrize(("kind", "body", "path", "needle"), [
    ("File", {}, "File.path", "missing; required: a file path string"),
    ("File", {"path": ""}, "File.path", 'expected a file path string, got ""'),
    ("File", {"path": "x", "backups": -1}, "File.backups", "-1 is out of range"),
    ("Jaeger", {}, "Jaeger.endpoint", "missing; required: a URL"),
    ("Jaeger", {"endpoint": "jaeger:14268"}, "Jaeger.endpoint",
     "expected an http:// or https:// URL"),
    ("Jaeger", {"endpoint": "http://j", "compression": "zstd"}, "Jaeger.compression",
     '"zstd" is not accepted (accepted: gzip, none)'),
    ("Otlp", {"endpoint": "http://o", "timeout": "soon"}, "Otlp.timeout",
     '"soon" is not a duration'),
    ("Otlp", {"endpoint": "http://o", "headers": []}, "Otlp.headers",
     "expected an object of header names to strings"),
    ("Otlp", {"endpoint": "http://o", "headers": {"X-Key": 5}}, "Otlp.headers.X-Key",
     "expected a one-line string, got 5"),
    ("Otlp", {"endpoint": "http://o", "headers": {"Bad Name": "v"}}, "Otlp.headers.Bad Name",
     "not a valid HTTP header name"),
    ("Otlp", {"endpoint": "http://o", "headers": {"X-Key": "keyring:"}}, "Otlp.headers.X-Key",
     "the secret name is missing"),
    ("Otlp", {"endpoint": "http://o", "headers": {"X-Key": "env:A B"}}, "Otlp.headers.X-Key",
     'a secret name is letters, digits, "_", "." or "-"'),
])
def test_tracing_exporter_fields(kind: str, body: dict[str, object], path: str,
                                 needle: str) -> None:
    got = problems(tel(tracing={"exporters": [{kind: body}]}))
    assert needle in got[f"telemetry.tracing.exporters[0].{path}"]


@pytest.mark.parametrize(("body", "needle"), [
    ({"path": "metrics"}, 'expected a URL path starting with "/", e.g. "/metrics"'),
    ({"host": ""}, "must not be empty"),
    ({"enable_compression": "yes"}, 'expected true or false, got "yes"'),
])
def test_prometheus_fields(body: dict[str, object], needle: str) -> None:
    got = problems(metrics(exporters=[{"Prometheus": body}]))
    (message,) = got.values()
    assert needle in message


def test_missing_telemetry_and_wrong_root() -> None:
    assert "missing; a config file is one JSON object with a top-level \"telemetry\"" in \
        problems({})["telemetry"]
    assert "expected an object" in problems({"telemetry": None})["telemetry"]
    assert 'expected an object with a "telemetry" key' in problems([1])["(top level)"]


def test_relative_paths_resolve_against_base_dir(tmp_path: Path) -> None:
    config = parse_config(metrics(exporters=[{"File": {"path": "./logs/metrics.json"}}],
                                  history={"path": "../h.db"}),
                          source="s", base_dir=tmp_path / "cfg")
    (file_exp,) = config.metrics.exporters
    assert isinstance(file_exp, FileExporterConfig)
    assert file_exp.path == tmp_path / "cfg" / "logs" / "metrics.json"
    assert config.metrics.history.path == tmp_path / "h.db"


# -- files ----------------------------------------------------------------------------------
def test_load_config_resolves_against_the_files_dir(write_json: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    path = write_json(metrics(exporters=[{"File": {"path": "m.jsonl"}}]), "sub/c.json")
    config = load_config(path)
    assert config.source == str(path)
    assert config.metrics.exporters == (FileExporterConfig(tmp_path / "sub" / "m.jsonl"),)


def test_invalid_json_names_file_line_and_column(write_json: Callable[..., Path]) -> None:
    path = write_json('{"telemetry": {\n  "enabled": true\n  "x": 1}}')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.path == str(path)
    assert problem.message.startswith("invalid JSON at line 3, column 3: Expecting ',' delimiter")
    assert validate_file(path) == [problem]


def test_unreadable_and_not_utf8(tmp_path: Path, write_json: Callable[..., Path]) -> None:
    missing = tmp_path / "nope.json"
    (problem,) = validate_file(missing)
    assert problem == ConfigProblem(str(missing),
                                    "cannot read the config file: No such file or directory")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b'{"telemetry": {"service_name": "\xff"}}')
    (problem,) = validate_file(binary)
    assert "not UTF-8 text" in problem.message
    assert validate_file(write_json("\ufeff" + '{"telemetry": {}}')) == []  # BOM is fine


def test_duplicate_json_keys_are_reported(write_json: Callable[..., Path]) -> None:
    path = write_json('{"telemetry": {"metrics": {"collection_interval": "1s", '
                      '"collection_interval": "2s"}}}')
    assert [str(p) for p in validate_file(path)] == [
        "telemetry.metrics.collection_interval: given more than once; keep one"]
    path = write_json('{"telemetry": {"tracing": {"exporters": [{"Otlp": {"endpoint": '
                      '"http://o", "headers": {"A": "1", "A": "2"}}}]}}}', "h.json")
    assert [str(p) for p in validate_file(path)] == [
        "telemetry.tracing.exporters[0].Otlp.headers.A: given more than once; keep one"]


def test_validate_file_ok(write_json: Callable[..., Path]) -> None:
    assert validate_file(write_json(tel(enabled=True))) == []

"""The OTel SDK environment variables, with the real SDK exporting to a real OTLP receiver:
the config file wins where it sets a key, the variable over the built-in default."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from otlp_upstream import UpstreamReceiver, free_port, wait_until

from timeline_telemetry.config import parse_config
from timeline_telemetry.config.schema import (
    BatchExportConfig,
    OtlpExporterConfig,
    TracingConfig,
)
from timeline_telemetry.delivery import RetryPolicy
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import Tracer, build_tracer
from timeline_telemetry.tracing.otel_env import otlp_settings

DEFAULTS = {"service.name": "timeline-studio", "service.version": "1.0.0", "host.name": "box"}
FAST = BatchExportConfig(export_interval=0.05)
HERE = Path(__file__).parent


def otlp_from_file(body: dict[str, object]) -> OtlpExporterConfig:
    """An Otlp exporter as the config file writes it (so ``given`` is what the file set)."""
    cfg = parse_config({"telemetry": {"tracing": {"exporters": [{"Otlp": body}]}}},
                       source="test", base_dir=HERE)
    (exp,) = cfg.tracing.exporters
    assert isinstance(exp, OtlpExporterConfig)
    return exp


@pytest.fixture
def make_tracer(tracers: Callable[..., Tracer]) -> Callable[..., Tracer]:
    return functools.partial(tracers, resource=DEFAULTS,
                             policy=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.1))


def exported(upstream: UpstreamReceiver) -> list[tuple[dict[str, str], PbSpan]]:
    out = []
    for req in upstream.requests:
        assert req.traces is not None
        for rs in req.traces.resource_spans:
            attrs = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            out.extend((attrs, s) for ss in rs.scope_spans for s in ss.spans)
    return out


def to_upstream(upstream: UpstreamReceiver, **kw: object) -> TracingConfig:
    base = TracingConfig(
        exporters=(OtlpExporterConfig(f"http://127.0.0.1:{upstream.port}"),), batch_export=FAST
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_service_name_and_resource_attributes_from_the_environment(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "render-farm-agent")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES",
                       "deployment.environment=studio%20b,service.name=ignored,host.name=ws7")
    tracer = make_tracer(to_upstream(upstream, sample_rate=1.0))
    with tracer.trace("job"):
        pass
    assert tracer.force_flush(timeout_s=5)
    wait_until(lambda: exported(upstream), what="the span upstream")
    ((attrs, span),) = exported(upstream)
    assert span.name == "job"
    # OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES (the spec's rule),
    # the environment over our defaults, and defaults the environment leaves alone stay.
    assert attrs["service.name"] == "render-farm-agent"
    assert attrs["deployment.environment"] == "studio b"
    assert attrs["host.name"] == "ws7"
    assert attrs["service.version"] == "1.0.0"
    assert attrs["telemetry.sdk.name"] == "opentelemetry"  # Resource.create, not Resource()


def test_service_name_set_in_the_config_file_wins(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    tracer = make_tracer(to_upstream(upstream, sample_rate=1.0),
                         resource_given=["service.name"])
    with tracer.trace("job"):
        pass
    assert tracer.force_flush(timeout_s=5)
    wait_until(lambda: exported(upstream), what="the span upstream")
    assert exported(upstream)[0][0]["service.name"] == "timeline-studio"


def test_the_manager_passes_which_resource_keys_the_file_set() -> None:
    cfg = parse_config({"telemetry": {"service_name": "edit-bay-3"}}, source="test", base_dir=HERE)
    assert "service_name" in cfg.given and "service_version" not in cfg.given
    assert parse_config({"telemetry": {}}, source="test", base_dir=HERE).given == frozenset()


def test_sampler_from_the_environment_over_the_built_in_rate(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The built-in default samples 10 %; always_on from the environment keeps all 30.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    tracer = make_tracer(to_upstream(upstream))
    for i in range(30):
        with tracer.trace(f"s{i}"):
            pass
    assert tracer.force_flush(timeout_s=5)
    wait_until(lambda: len(exported(upstream)) == 30, what="all 30 spans")


def test_sample_rate_in_the_config_file_wins_over_the_environment(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    off = make_tracer(to_upstream(upstream, sample_rate=1.0))  # sample_rate not from the file
    with off.trace("dropped") as span:
        assert not span.is_recording
    cfg = parse_config({"telemetry": {"tracing": {"sample_rate": 1.0}}}, source="test",
                       base_dir=HERE).tracing
    on = make_tracer(replace(cfg, exporters=to_upstream(upstream).exporters, batch_export=FAST))
    with on.trace("kept"):
        pass
    assert on.force_flush(timeout_s=5)
    wait_until(lambda: exported(upstream), what="the kept span")
    assert [s.name for _, s in exported(upstream)] == ["kept"]


def test_traceidratio_with_its_argument(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    tracer = make_tracer(to_upstream(upstream))
    for i in range(20):
        with tracer.trace(f"s{i}") as span:
            assert not span.is_recording, i


def test_sdk_disabled_records_nothing(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with caplog.at_level(logging.INFO):
        tracer = make_tracer(to_upstream(upstream, sample_rate=1.0))
    with tracer.trace("nothing") as span:
        assert not span.is_recording
    assert any("OTEL_SDK_DISABLED" in r.getMessage() for r in caplog.records)


def test_exporter_endpoint_headers_and_compression_from_the_environment(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{upstream.port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-studio-token=a%20b,x-team=post")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    exp = otlp_from_file({})  # {"Otlp": {}}: everything from the environment
    tracer = make_tracer(TracingConfig(sample_rate=1.0, exporters=(exp,), batch_export=FAST))
    with tracer.trace("job"):
        pass
    assert tracer.force_flush(timeout_s=5)
    wait_until(lambda: upstream.requests, what="a request upstream")
    req = upstream.requests[0]
    assert req.path == "/v1/traces"
    assert req.headers["x-studio-token"] == "a b" and req.headers["x-team"] == "post"
    assert req.headers.get("content-encoding") == "gzip"


def test_endpoint_in_the_config_file_wins_over_the_environment(
    make_tracer: Callable[..., Tracer], upstream: UpstreamReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", nothing_listens)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-from-env=1")
    exp = otlp_from_file({"endpoint": f"http://127.0.0.1:{upstream.port}",
                          "headers": {"x-from-file": "1"}})
    tracer = make_tracer(TracingConfig(sample_rate=1.0, exporters=(exp,), batch_export=FAST))
    with tracer.trace("job"):
        pass
    assert tracer.force_flush(timeout_s=5)
    wait_until(lambda: upstream.requests, what="a request upstream")
    headers = upstream.requests[0].headers
    assert "x-from-file" in headers and "x-from-env" not in headers


def test_signal_endpoint_is_used_as_it_is_and_timeout_is_milliseconds(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example:443/custom",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
           "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "soon",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    exp = otlp_from_file({})
    traces = otlp_settings(exp, "traces", env)
    assert traces.url == "https://traces.example:443/custom"
    assert traces.timeout_s == 2.5
    with caplog.at_level(logging.WARNING):
        logs = otlp_settings(exp, "logs", env)
    assert logs.url == "http://collector:4318/v1/logs"
    assert logs.timeout_s == exp.timeout  # "soon" refused, said, default kept
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT" in said and "http/protobuf" in said
    # Nothing set anywhere: the specification's default endpoint.
    assert otlp_settings(exp, "traces", {}).url == "http://localhost:4318/v1/traces"


def test_env_reference_endpoint_is_accepted_and_resolved_at_use(
    metrics: Metrics, upstream: UpstreamReceiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    exp = otlp_from_file({"endpoint": "env:OTLP_URL"})  # the design document's spelling
    assert exp.endpoint == "env:OTLP_URL"
    monkeypatch.setenv("OTLP_URL", f"http://127.0.0.1:{upstream.port}")
    tracer = build_tracer(TracingConfig(sample_rate=1.0, exporters=(exp,), batch_export=FAST),
                          resource=DEFAULTS, metrics=metrics)
    try:
        with tracer.trace("job"):
            pass
        assert tracer.force_flush(timeout_s=5)
        wait_until(lambda: upstream.requests, what="a request upstream")
        assert upstream.requests[0].path == "/v1/traces"
    finally:
        tracer.shutdown(timeout_s=2)


def test_env_reference_that_is_no_url_names_the_field(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTLP_URL", "secret-token-not-a-url")
    exp = otlp_from_file({"endpoint": "env:OTLP_URL"})
    tracer = build_tracer(TracingConfig(sample_rate=1.0, exporters=(exp,), batch_export=FAST),
                          resource=DEFAULTS, metrics=metrics,
                          policy=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.1))
    try:
        with tracer.trace("job"):
            pass
        tracer.force_flush(timeout_s=5)
        def status() -> str:
            (only,) = tracer.exporters.statuses().values()
            return str(only)

        wait_until(lambda: "Otlp.endpoint" in status(), what="the error in the status")
        text = status()
        assert "env:OTLP_URL" in text and "secret-token" not in text
    finally:
        tracer.shutdown(timeout_s=2)


def test_malformed_reference_is_refused_at_parse_time() -> None:
    from timeline_telemetry.config import ConfigError

    with pytest.raises(ConfigError, match="endpoint"):
        parse_config({"telemetry": {"tracing": {"exporters": [
            {"Otlp": {"endpoint": "env:not a name"}}]}}}, source="test", base_dir=HERE)


def test_an_endpoint_left_out_survives_config_show(tmp_path: Path) -> None:
    from timeline_telemetry.config.render import config_to_json

    cfg = parse_config({"telemetry": {"tracing": {"exporters": [{"Otlp": {}}]}}},
                       source="test", base_dir=HERE)
    again = parse_config(config_to_json(cfg), source="test", base_dir=HERE)
    (exp,) = again.tracing.exporters
    assert isinstance(exp, OtlpExporterConfig) and "endpoint" not in exp.given

"""One parse function per config object: ``parse_x(ctx, path, data) -> XConfig``.

Each reads the keys of its dataclass (see ``schema.py``) with an :class:`ObjectReader`,
keeping the default for anything missing or wrong and recording every problem in ``ctx``.
To add a section: a dataclass in ``schema.py``, a function here, one line in
:func:`parse_telemetry`.
"""

from __future__ import annotations

from ._reader import Context, ObjectReader, check_number
from .alerts import parse_alerts
from .durations import format_duration
from .exporters import (
    check_port,
    parse_logs_exporters,
    parse_metrics_exporters,
    parse_tracing_exporters,
)
from .health_checks import parse_health_checks
from .schema import (
    LOG_LEVELS,
    AggregationConfig,
    BatchExportConfig,
    BudgetConfig,
    CollectorsConfig,
    EditorConfig,
    HealthConfig,
    HistoryConfig,
    HttpConfig,
    IngestConfig,
    IngestLimitsConfig,
    LoggingConfig,
    LogsConfig,
    MetricsConfig,
    OtlpIngestConfig,
    TelemetryConfig,
    TracingConfig,
    json_keys,
)

__all__ = [
    "parse_aggregation",
    "parse_batch_export",
    "parse_collectors",
    "parse_editor",
    "parse_health",
    "parse_history",
    "parse_http",
    "parse_ingest",
    "parse_ingest_limits",
    "parse_logging",
    "parse_logs",
    "parse_metrics",
    "parse_otlp_ingest",
    "parse_telemetry",
    "parse_tracing",
]


def parse_telemetry(ctx: Context, path: str, data: object) -> TelemetryConfig:
    """The top-level ``"telemetry"`` object."""
    r = ObjectReader(ctx, path, data, json_keys(TelemetryConfig))
    d = TelemetryConfig()
    return TelemetryConfig(
        enabled=r.get_bool("enabled", d.enabled),
        service_name=r.get_str("service_name", d.service_name, nonempty=True),
        service_version=r.get_str("service_version", d.service_version, nonempty=True),
        tracing=r.section("tracing", parse_tracing, d.tracing),
        metrics=r.section("metrics", parse_metrics, d.metrics),
        health=r.section("health", parse_health, d.health),
        ingest=r.section("ingest", parse_ingest, d.ingest),
        http=r.section("http", parse_http, d.http),
        editor=r.section("editor", parse_editor, d.editor),
        logging=r.section("logging", parse_logging, d.logging),
        logs=r.section("logs", parse_logs, d.logs),
        alerts=r.section("alerts", parse_alerts, d.alerts),
        budget=r.section("budget", parse_budget, d.budget),
        given=frozenset(k for k in ("service_name", "service_version") if r.has(k)),
    )


def parse_logs(ctx: Context, path: str, data: object) -> LogsConfig:
    """``telemetry.logs``."""
    r = ObjectReader(ctx, path, data, json_keys(LogsConfig))
    d = LogsConfig()
    return LogsConfig(
        ecs_file=r.get_bool("ecs_file", d.ecs_file),
        max_bytes=r.get_int("max_bytes", d.max_bytes, minimum=64 * 1024),
        backups=r.get_int("backups", d.backups, minimum=0),
        follow_editor_logs=r.get_bool("follow_editor_logs", d.follow_editor_logs),
        exporters=r.section("exporters", parse_logs_exporters, d.exporters),
    )


def parse_tracing(ctx: Context, path: str, data: object) -> TracingConfig:
    """``telemetry.tracing``."""
    r = ObjectReader(ctx, path, data, json_keys(TracingConfig))
    d = TracingConfig()
    return TracingConfig(
        enabled=r.get_bool("enabled", d.enabled),
        sample_rate=r.get_float("sample_rate", d.sample_rate, minimum=0.0, maximum=1.0),
        max_attributes_per_span=r.get_int(
            "max_attributes_per_span", d.max_attributes_per_span, minimum=1
        ),
        max_events_per_span=r.get_int("max_events_per_span", d.max_events_per_span, minimum=1),
        debug_mode=r.get_bool("debug_mode", d.debug_mode),
        log_spans=r.get_bool("log_spans", d.log_spans),
        batch_export=r.section("batch_export", parse_batch_export, d.batch_export),
        exporters=r.section("exporters", parse_tracing_exporters, d.exporters),
        given=frozenset(k for k in ("enabled", "sample_rate", "debug_mode") if r.has(k)),
    )


def parse_batch_export(ctx: Context, path: str, data: object) -> BatchExportConfig:
    """``telemetry.tracing.batch_export``."""
    r = ObjectReader(ctx, path, data, json_keys(BatchExportConfig))
    d = BatchExportConfig()
    return BatchExportConfig(
        max_batch_size=r.get_int("max_batch_size", d.max_batch_size, minimum=1),
        max_export_timeout=r.get_duration("max_export_timeout", d.max_export_timeout),
        export_interval=r.get_duration("export_interval", d.export_interval),
    )


def parse_metrics(ctx: Context, path: str, data: object) -> MetricsConfig:
    """``telemetry.metrics``."""
    r = ObjectReader(ctx, path, data, json_keys(MetricsConfig))
    d = MetricsConfig()
    enabled = r.get_bool("enabled", d.enabled)
    before = len(ctx.problems)
    interval = r.get_duration("collection_interval", d.collection_interval)
    retention = r.get_duration("retention_period", d.retention_period)
    if retention < interval and len(ctx.problems) == before:
        ctx.problem(
            r.path("retention_period"),
            f"{format_duration(retention)} is shorter than collection_interval "
            f"({format_duration(interval)}); keep at least one collection",
        )
    return MetricsConfig(
        enabled=enabled,
        collection_interval=interval,
        retention_period=retention,
        aggregation=r.section("aggregation", parse_aggregation, d.aggregation),
        exporters=r.section("exporters", parse_metrics_exporters, d.exporters),
        collectors=r.section("collectors", parse_collectors, d.collectors),
        history=r.section("history", parse_history, d.history),
    )


def parse_aggregation(ctx: Context, path: str, data: object) -> AggregationConfig:
    """``telemetry.metrics.aggregation``: strictly increasing buckets, quantiles in [0, 1]."""
    r = ObjectReader(ctx, path, data, json_keys(AggregationConfig))
    buckets: list[float] = []
    if r.has("histogram_buckets"):
        for i, item in r.list_items("histogram_buckets"):
            where = f"{r.path('histogram_buckets')}[{i}]"
            value = check_number(item)
            if not isinstance(value, float):
                ctx.problem(where, value.message)
            elif buckets and value <= buckets[-1]:
                ctx.problem(where, f"{value:g} is not greater than the bucket before it "
                                   f"({buckets[-1]:g}); buckets must be strictly increasing")
            else:
                buckets.append(value)
    quantiles: list[float] = []
    if r.has("summary_quantiles"):
        for i, item in r.list_items("summary_quantiles"):
            where = f"{r.path('summary_quantiles')}[{i}]"
            value = check_number(item, 0.0, 1.0)
            if not isinstance(value, float):
                ctx.problem(where, value.message.replace("out of range", "not a quantile"))
            elif value in quantiles:
                ctx.problem(where, f"{value:g} is listed twice")
            else:
                quantiles.append(value)
    return AggregationConfig(histogram_buckets=tuple(buckets), summary_quantiles=tuple(quantiles))


def parse_collectors(ctx: Context, path: str, data: object) -> CollectorsConfig:
    """``telemetry.metrics.collectors``."""
    r = ObjectReader(ctx, path, data, json_keys(CollectorsConfig))
    d = CollectorsConfig()
    return CollectorsConfig(
        system=r.get_bool("system", d.system),
        per_cpu=r.get_bool("per_cpu", d.per_cpu),
        gpu=r.get_bool("gpu", d.gpu),
        disk_paths=r.str_list("disk_paths", d.disk_paths),
        process_rescan_interval=r.get_duration(
            "process_rescan_interval", d.process_rescan_interval
        ),
    )


def parse_history(ctx: Context, path: str, data: object) -> HistoryConfig:
    """``telemetry.metrics.history``; a relative ``path`` resolves against the base dir."""
    r = ObjectReader(ctx, path, data, json_keys(HistoryConfig))
    d = HistoryConfig()
    file = r.path_or_none("path", d.path)
    if file is not None:
        ctx.claim_file(file, r.path("path"))
    return HistoryConfig(enabled=r.get_bool("enabled", d.enabled), path=file)


def parse_health(ctx: Context, path: str, data: object) -> HealthConfig:
    """``telemetry.health`` (``cache_ttl`` may be 0: no caching; ``checks`` see
    ``health_checks.py``)."""
    r = ObjectReader(ctx, path, data, json_keys(HealthConfig))
    d = HealthConfig()
    return HealthConfig(
        enabled=r.get_bool("enabled", d.enabled),
        check_interval=r.get_duration("check_interval", d.check_interval),
        cache_ttl=r.get_duration("cache_ttl", d.cache_ttl, allow_zero=True),
        default_timeout=r.get_duration("default_timeout", d.default_timeout),
        parallel_checks=r.get_bool("parallel_checks", d.parallel_checks),
        checks=r.section("checks", parse_health_checks, d.checks),
    )


def parse_editor(ctx: Context, path: str, data: object) -> EditorConfig:
    """``telemetry.editor``."""
    r = ObjectReader(ctx, path, data, json_keys(EditorConfig))
    d = EditorConfig()
    return EditorConfig(
        process_names=r.str_list("process_names", d.process_names),
        media_dirs=r.str_list("media_dirs", d.media_dirs),
        cache_dirs=r.str_list("cache_dirs", d.cache_dirs),
        log_globs=r.str_list("log_globs", d.log_globs),
    )


def parse_logging(ctx: Context, path: str, data: object) -> LoggingConfig:
    """``telemetry.logging`` (the level is case-insensitive, stored upper-case)."""
    r = ObjectReader(ctx, path, data, json_keys(LoggingConfig))
    return LoggingConfig(
        level=r.get_str("level", LoggingConfig().level, choices=LOG_LEVELS, upper=True)
    )


def parse_budget(ctx: Context, path: str, data: object) -> BudgetConfig:
    """``telemetry.budget``."""
    r = ObjectReader(ctx, path, data, json_keys(BudgetConfig))
    d = BudgetConfig()
    return BudgetConfig(
        enabled=r.get_bool("enabled", d.enabled),
        cpu_percent=r.get_float("cpu_percent", d.cpu_percent, minimum=0.01, maximum=400),
        rss_mb=r.get_float("rss_mb", d.rss_mb, minimum=10, maximum=1_000_000),
        max_backoff=r.get_int("max_backoff", d.max_backoff, minimum=1, maximum=64),
        render_backoff=r.get_int("render_backoff", d.render_backoff, minimum=1, maximum=64),
    )


def parse_http(ctx: Context, path: str, data: object) -> HttpConfig:
    """``telemetry.http``: the HTTP listeners' bounds; the reserve is below the cap."""
    r = ObjectReader(ctx, path, data, json_keys(HttpConfig))
    d = HttpConfig()
    max_connections = r.get_int("max_connections", d.max_connections, minimum=2, maximum=10_000)
    reserved = r.get_int("reserved_connections", d.reserved_connections, minimum=0,
                         maximum=10_000)
    if reserved >= max_connections:
        ctx.problem(r.path("reserved_connections"),
                    f"{reserved} leaves no connection for other requests: keep it below "
                    f"max_connections ({max_connections})")
        reserved = min(d.reserved_connections, max_connections - 1)
    return HttpConfig(
        header_timeout=r.get_duration("header_timeout", d.header_timeout),
        min_body_rate_bytes=r.get_int("min_body_rate_bytes", d.min_body_rate_bytes,
                                      minimum=0, maximum=1024 * 1024 * 1024),
        idle_timeout=r.get_duration("idle_timeout", d.idle_timeout),
        max_connections=max_connections,
        reserved_connections=reserved,
    )


def parse_ingest(ctx: Context, path: str, data: object) -> IngestConfig:
    """``telemetry.ingest``; a relative ``logs_file`` resolves against the base dir."""
    r = ObjectReader(ctx, path, data, json_keys(IngestConfig))
    d = IngestConfig()
    logs_file = r.path_or_none("logs_file", d.logs_file)
    if logs_file is not None:
        ctx.claim_file(logs_file, r.path("logs_file"))
    return IngestConfig(
        otlp=r.section("otlp", parse_otlp_ingest, d.otlp),
        trace_store_max_traces=r.get_int(
            "trace_store_max_traces", d.trace_store_max_traces, minimum=1
        ),
        logs_file=logs_file,
        limits=r.section("limits", parse_ingest_limits, d.limits),
    )


def parse_ingest_limits(ctx: Context, path: str, data: object) -> IngestLimitsConfig:
    """``telemetry.ingest.limits``: every limit at least 1 (value lengths at least 16)."""
    r = ObjectReader(ctx, path, data, json_keys(IngestLimitsConfig))
    d = IngestLimitsConfig()
    return IngestLimitsConfig(
        max_attributes=r.get_int("max_attributes", d.max_attributes, minimum=1),
        max_attribute_value_length=r.get_int(
            "max_attribute_value_length", d.max_attribute_value_length, minimum=16
        ),
        max_metric_names_per_service=r.get_int(
            "max_metric_names_per_service", d.max_metric_names_per_service, minimum=1
        ),
        max_series_per_metric=r.get_int(
            "max_series_per_metric", d.max_series_per_metric, minimum=1
        ),
        max_series=r.get_int("max_series", d.max_series, minimum=1),
        series_expiration=r.get_duration("series_expiration", d.series_expiration),
    )


def parse_otlp_ingest(ctx: Context, path: str, data: object) -> OtlpIngestConfig:
    """``telemetry.ingest.otlp``: the receiver's address and body limit (at least 1 KiB)."""
    r = ObjectReader(ctx, path, data, json_keys(OtlpIngestConfig))
    d = OtlpIngestConfig()
    return OtlpIngestConfig(
        enabled=r.get_bool("enabled", d.enabled),
        host=r.get_str("host", d.host, nonempty=True),
        port=r.get("port", d.port, check_port),
        max_body_bytes=r.get_int("max_body_bytes", d.max_body_bytes, minimum=1024),
    )

"""The config as typed, immutable values: one frozen dataclass per JSON object.

Field names are the JSON keys (a field with ``metadata={"json": False}`` is not one).
Durations are float seconds and carry ``metadata={"duration": True}`` so the renderer writes
them back as duration strings. Lists are tuples. Every class has defaults, so
``TelemetryConfig()`` is the valid default config; validation lives in the loader.

Adding a section: one dataclass here (a field on :class:`TelemetryConfig`) and one parse
function in ``sections.py``; rendering is generic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "GPU_THROTTLE_REASONS",
    "AggregationConfig",
    "AlertActionConfig",
    "AlertRuleOptions",
    "AlertmanagerActionConfig",
    "AlertsConfig",
    "BatchExportConfig",
    "CollectorsConfig",
    "ConsoleExporterConfig",
    "DatabaseCheckConfig",
    "DiskSpaceCheckConfig",
    "EditorConfig",
    "EmailActionConfig",
    "FfmpegCheckConfig",
    "FileExporterConfig",
    "FlapConfig",
    "FrozenMap",
    "GpuThrottleCheckConfig",
    "HealthCheckConfig",
    "HealthConfig",
    "HistoryConfig",
    "HttpCheckConfig",
    "HttpConfig",
    "IngestConfig",
    "IngestLimitsConfig",
    "JaegerExporterConfig",
    "LoggingConfig",
    "LogsConfig",
    "MemoryCheckConfig",
    "MetricsConfig",
    "MetricsExporterConfig",
    "OtlpExporterConfig",
    "OtlpIngestConfig",
    "PagerDutyActionConfig",
    "ProcessCheckConfig",
    "PrometheusExporterConfig",
    "RemoteWriteBasicAuth",
    "RemoteWriteExporterConfig",
    "RemoteWriteQueueConfig",
    "RenderSilenceConfig",
    "StormConfig",
    "TelemetryConfig",
    "TracingConfig",
    "TracingExporterConfig",
    "WebhookActionConfig",
    "json_keys",
]

DEFAULT_FILE_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_INGEST_MAX_BODY_BYTES = 16 * 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
COMPRESSIONS = ("gzip", "none")


def _duration(default: float) -> Any:
    """A duration field (seconds) that renders as a duration string."""
    return field(default=default, metadata={"duration": True})


def json_keys(cls: type) -> tuple[str, ...]:
    """The JSON keys of a config dataclass, in declaration order."""
    return tuple(f.name for f in fields(cls) if f.metadata.get("json", True))


def is_duration_field(f: Field[Any]) -> bool:
    """Whether a dataclass field holds a duration in seconds."""
    return bool(f.metadata.get("duration", False))


class FrozenMap(Mapping[str, str]):
    """A read-only, hashable ``str -> str`` mapping (HTTP headers) that copies its input."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._data: dict[str, str] = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


# -- exporters (externally tagged in JSON: {"<kind>": {...}}) ----------------------------
@dataclass(frozen=True)
class ConsoleExporterConfig:
    """``{"Console": {}}``: a compact line per collection on stdout."""

    kind: ClassVar[str] = "Console"


@dataclass(frozen=True)
class FileExporterConfig:
    """``{"File": {"path": ...}}``: OTLP-JSON lines with size-based rotation.

    ``path`` is absolute (resolved against the config file's directory by the loader).
    """

    kind: ClassVar[str] = "File"
    path: Path
    max_bytes: int = DEFAULT_FILE_MAX_BYTES
    backups: int = 3


@dataclass(frozen=True)
class PrometheusExporterConfig:
    """``{"Prometheus": {...}}``: a scrape endpoint at ``http://host:port/path`` (port 0 = any)."""

    kind: ClassVar[str] = "Prometheus"
    port: int = 9464  # the OTel Prometheus exporter's registered port (9090 is the server's)
    path: str = "/metrics"
    enable_compression: bool = False
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class JaegerExporterConfig:
    """``{"Jaeger": {"endpoint": ...}}``: trace export to a Jaeger collector (tracing only)."""

    kind: ClassVar[str] = "Jaeger"
    endpoint: str
    compression: str = "none"


@dataclass(frozen=True)
class OtlpExporterConfig:
    """``{"Otlp": {"endpoint": ...}}``: OTLP/HTTP export. Header values may be secret refs."""

    kind: ClassVar[str] = "Otlp"
    endpoint: str
    headers: Mapping[str, str] = field(default_factory=FrozenMap)
    compression: str = "none"
    timeout: float = _duration(10.0)
    #: The keys the config file set; the others come from ``OTEL_EXPORTER_OTLP_*`` when set
    #: (``tracing/otel_env.py``). Built in code, everything counts as set.
    given: frozenset[str] = field(
        default=frozenset({"endpoint", "headers", "compression", "timeout"}),
        compare=False, metadata={"json": False},
    )

    def __post_init__(self) -> None:
        if not isinstance(self.headers, FrozenMap):
            object.__setattr__(self, "headers", FrozenMap(self.headers))


@dataclass(frozen=True)
class RemoteWriteBasicAuth:
    """``basic_auth`` of a RemoteWrite exporter; ``password`` is a ``keyring:``/``env:`` ref."""

    username: str
    password: str


@dataclass(frozen=True)
class RemoteWriteQueueConfig:
    """``queue`` of a RemoteWrite exporter: batch size, catch-up rate and retry backoff."""

    max_samples_per_send: int = 2000
    max_samples_per_second: int = 20000
    min_backoff: float = _duration(0.5)
    max_backoff: float = _duration(30.0)
    max_retry_after: float = _duration(300.0)


@dataclass(frozen=True)
class RemoteWriteExporterConfig:
    """``{"RemoteWrite": {"url": ...}}``: Prometheus remote-write 1.0 from the local history.

    ``headers`` values may be secret refs; ``external_labels`` may override the default
    ``job`` (service name) and ``instance`` (host name); ``max_age`` bounds the backfill.
    """

    kind: ClassVar[str] = "RemoteWrite"
    url: str
    headers: Mapping[str, str] = field(default_factory=FrozenMap)
    basic_auth: RemoteWriteBasicAuth | None = None
    external_labels: Mapping[str, str] = field(default_factory=FrozenMap)
    timeout: float = _duration(10.0)
    queue: RemoteWriteQueueConfig = field(default_factory=RemoteWriteQueueConfig)
    max_age: float = _duration(86400.0)

    def __post_init__(self) -> None:
        for name in ("headers", "external_labels"):
            if not isinstance(getattr(self, name), FrozenMap):
                object.__setattr__(self, name, FrozenMap(getattr(self, name)))


TracingExporterConfig: TypeAlias = (
    ConsoleExporterConfig | FileExporterConfig | JaegerExporterConfig | OtlpExporterConfig
)
MetricsExporterConfig: TypeAlias = (
    ConsoleExporterConfig | FileExporterConfig | PrometheusExporterConfig
    | RemoteWriteExporterConfig
)


# -- tracing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchExportConfig:
    """``tracing.batch_export``: how finished spans are batched for export."""

    max_batch_size: int = 512
    max_export_timeout: float = _duration(30.0)
    export_interval: float = _duration(5.0)


@dataclass(frozen=True)
class TracingConfig:
    """``tracing``: sampling, span limits and trace exporters."""

    enabled: bool = True
    sample_rate: float = 0.1
    max_attributes_per_span: int = 128
    max_events_per_span: int = 128
    debug_mode: bool = False
    log_spans: bool = False
    batch_export: BatchExportConfig = field(default_factory=BatchExportConfig)
    exporters: tuple[TracingExporterConfig, ...] = ()
    #: The keys the config file set (``enabled``, ``sample_rate``...): those win over the
    #: ``OTEL_*`` environment, which wins over the defaults above.
    given: frozenset[str] = field(default=frozenset(), compare=False, metadata={"json": False})


# -- metrics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AggregationConfig:
    """``metrics.aggregation``: empty tuples mean the catalog's / built-in defaults."""

    histogram_buckets: tuple[float, ...] = ()
    summary_quantiles: tuple[float, ...] = ()


@dataclass(frozen=True)
class CollectorsConfig:
    """``metrics.collectors``: which collectors run; empty ``disk_paths`` = root + editor dirs."""

    system: bool = True
    per_cpu: bool = True
    gpu: bool = True
    disk_paths: tuple[str, ...] = ()
    process_rescan_interval: float = _duration(30.0)


@dataclass(frozen=True)
class HistoryConfig:
    """``metrics.history``: the local SQLite history.

    ``path`` None means ``<data dir>/history.sqlite3``; otherwise it is absolute.
    """

    enabled: bool = True
    path: Path | None = None


@dataclass(frozen=True)
class MetricsConfig:
    """``metrics``: collection cadence, retention, aggregation, exporters, collectors, history."""

    enabled: bool = True
    collection_interval: float = _duration(10.0)
    retention_period: float = _duration(3600.0)
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)
    exporters: tuple[MetricsExporterConfig, ...] = ()
    collectors: CollectorsConfig = field(default_factory=CollectorsConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)


# -- other sections ----------------------------------------------------------------------
# -- health checks (externally tagged in JSON: {"<kind>": {...}}) ------------------------
# Each has an optional ``name`` (the check's name; ``check_name`` gives the default) and an
# optional ``timeout`` (None = ``health.default_timeout``). Process is the exception: its
# ``name`` is the process to look for, as in the design document's ``{"Process": {"name": ...}}``.
def _opt_duration() -> Any:
    """An optional duration field (None = inherit) that renders as a string or null."""
    return field(default=None, metadata={"duration": True})


@dataclass(frozen=True)
class DiskSpaceCheckConfig:
    """``{"DiskSpace": {"path": ...}}``: Unhealthy at ``max_used_fraction`` used, Warning from
    ``warning_margin`` below it; with ``footage_bitrate_mbps`` the free space is also given as
    hours of footage at that bitrate (media drives). ``path`` is absolute."""

    kind: ClassVar[str] = "DiskSpace"
    path: Path
    max_used_fraction: float = 0.9
    warning_margin: float = 0.05
    footage_bitrate_mbps: float | None = None
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``disk:<path>``."""
        return self.name or f"disk:{self.path}"


@dataclass(frozen=True)
class MemoryCheckConfig:
    """``{"Memory": {...}}``: Unhealthy at ``max_used_fraction`` of RAM used, Warning from
    ``warning_margin`` below it."""

    kind: ClassVar[str] = "Memory"
    max_used_fraction: float = 0.8
    warning_margin: float = 0.05
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``memory``."""
        return self.name or "memory"


@dataclass(frozen=True)
class FfmpegCheckConfig:
    """``{"Ffmpeg": {"encoders": [...]}}``: ffmpeg runs and has these encoders. ``path`` is a
    binary path or a command name looked up on PATH (None = ``ffmpeg`` on PATH)."""

    kind: ClassVar[str] = "Ffmpeg"
    encoders: tuple[str, ...] = ()
    path: str | None = None
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``ffmpeg``."""
        return self.name or "ffmpeg"


@dataclass(frozen=True)
class DatabaseCheckConfig:
    """``{"Database": {"path": ...}}``: an SQLite file opened read-only and quick-checked."""

    kind: ClassVar[str] = "Database"
    path: Path
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``database:<file name>``."""
        return self.name or f"database:{self.path.name}"


@dataclass(frozen=True)
class HttpCheckConfig:
    """``{"Http": {"url": ...}}``: the design document's external API check: the URL answers with
    ``expected_status``, Warning when slower than ``latency_warning`` (seconds)."""

    kind: ClassVar[str] = "Http"
    url: str
    expected_status: int = 200
    latency_warning: float = _duration(1.0)
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``http:<host[:port]>`` (never credentials)."""
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        return f"http:{host}:{parts.port}" if parts.port else f"http:{host}"


@dataclass(frozen=True)
class ProcessCheckConfig:
    """``{"Process": {"name": ...}}``: a process with this executable name runs (None = any
    of ``editor.process_names``). The check is named ``process:<name>`` (or ``process``)."""

    kind: ClassVar[str] = "Process"
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``process:<name>``, or ``process`` for the editor's names."""
        return f"process:{self.name}" if self.name else "process"


#: The clock throttle reasons that count as thermal or power throttling (``gpu_throttle_reason``
#: label values); the GpuThrottle check's default.
GPU_THROTTLE_REASONS: tuple[str, ...] = (
    "sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal", "hw_power_brake")


@dataclass(frozen=True)
class GpuThrottleCheckConfig:
    """``{"GpuThrottle": {...}}``: Warning while an NVIDIA GPU throttled for one of
    ``reasons`` during a render in the last ``window`` (read from the GPU collector). Without
    it the agent adds the check by itself, named ``gpu``, whenever the GPU collector runs."""

    kind: ClassVar[str] = "GpuThrottle"
    window: float = _duration(300.0)
    reasons: tuple[str, ...] = GPU_THROTTLE_REASONS
    name: str | None = None
    timeout: float | None = _opt_duration()

    @property
    def check_name(self) -> str:
        """The check's name: ``name``, else ``gpu``."""
        return self.name or "gpu"


HealthCheckConfig: TypeAlias = (
    DiskSpaceCheckConfig
    | MemoryCheckConfig
    | FfmpegCheckConfig
    | DatabaseCheckConfig
    | HttpCheckConfig
    | ProcessCheckConfig
    | GpuThrottleCheckConfig
)


@dataclass(frozen=True)
class HealthConfig:
    """``health``: cadence and limits of the health checks, and which checks run.

    ``checks`` None (no ``checks`` key, or ``null``) means the built-in set: the data dir's
    disk, memory and ffmpeg (see ``health.build_health_checks``); ``()`` means none.
    """

    enabled: bool = True
    check_interval: float = _duration(30.0)
    cache_ttl: float = _duration(60.0)
    default_timeout: float = _duration(5.0)
    parallel_checks: bool = False
    checks: tuple[HealthCheckConfig, ...] | None = None


@dataclass(frozen=True)
class EditorConfig:
    """``editor``: how to find the editor's processes and which directories matter to it."""

    process_names: tuple[str, ...] = ("timeline-studio",)
    media_dirs: tuple[str, ...] = ()
    cache_dirs: tuple[str, ...] = ()
    #: Globs of the editor's own log files, for the diagnostics bundle (``~`` expanded).
    log_globs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetConfig:
    """``budget``: what the monitor may cost (CPU as % of one core, resident memory). Over
    it, costly collectors run less often and the process rescan slows; ``render_backoff``
    is how much less it samples while the editor reports a render or export."""

    enabled: bool = True
    cpu_percent: float = 1.0
    rss_mb: float = 100.0
    max_backoff: int = 8
    render_backoff: int = 4


@dataclass(frozen=True)
class LoggingConfig:
    """``logging``: the agent's log level (one of DEBUG, INFO, WARNING, ERROR)."""

    level: str = "INFO"


@dataclass(frozen=True)
class LogsConfig:
    """``logs``: logs for an ELK stack. ``ecs_file`` writes the agent's own log, the
    editor's log files (``editor.log_globs``, followed while ``follow_editor_logs``) and the
    OTLP log records the editor pushes as ECS JSON lines to
    ``<log dir>/timeline-telemetry.ecs.json`` (``max_bytes`` per file, ``backups`` old
    files). ``exporters`` (``[{"Otlp": {...}}]``) also send them to an OpenTelemetry
    Collector over OTLP/HTTP."""

    ecs_file: bool = True
    max_bytes: int = 20 * 1024 * 1024
    backups: int = 3
    follow_editor_logs: bool = True
    exporters: tuple[OtlpExporterConfig, ...] = ()


# -- ingest (the OTLP/HTTP receiver the editor pushes to) -------------------------------
@dataclass(frozen=True)
class OtlpIngestConfig:
    """``ingest.otlp``: where the OTLP/HTTP receiver listens (port 0 = any free port) and the
    largest request body it accepts, after gzip decompression."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 4318
    max_body_bytes: int = DEFAULT_INGEST_MAX_BODY_BYTES


@dataclass(frozen=True)
class IngestLimitsConfig:
    """``ingest.limits``: what one pushing application may cost the agent (the OTel SDK's
    attribute limits, Prometheus' series limits). Extra attributes are dropped and long
    values truncated (as the SDK does); data points beyond a series or name limit are refused
    and reported in the OTLP reply's ``partial_success``. ``max_series_per_metric`` also caps
    the agent's own metrics."""

    max_attributes: int = 128  # per span, event, link, data point, log record and resource
    max_attribute_value_length: int = 4096  # characters (bytes for byte values)
    max_metric_names_per_service: int = 1000
    max_series_per_metric: int = 2000
    max_series: int = 10_000  # every received series (and target_info) together
    #: A received series not updated for this long is forgotten (the OTel Collector's
    #: Prometheus exporter's ``metric_expiration``): it leaves /metrics and frees its place
    #: under the limits, so a long session of short-lived label values is not refused later.
    series_expiration: float = _duration(300.0)


@dataclass(frozen=True)
class IngestConfig:
    """``ingest``: the receiver, how many received traces stay queryable, and where received
    logs are written (``logs_file`` None = ``<data dir>/otlp-logs.jsonl``; else absolute)."""

    otlp: OtlpIngestConfig = field(default_factory=OtlpIngestConfig)
    trace_store_max_traces: int = 1000
    logs_file: Path | None = None
    limits: IngestLimitsConfig = field(default_factory=IngestLimitsConfig)


# -- http (the bounds of the agent's HTTP listeners) -------------------------------------
@dataclass(frozen=True)
class HttpConfig:
    """``http``: the bounds of both HTTP listeners (the Prometheus/health/API one and the OTLP
    receiver), against slow or stuck local clients. A request's whole head must arrive within
    ``header_timeout``; a body must keep up ``min_body_rate_bytes`` per second after a grace of
    ``header_timeout`` (0 = no minimum); an idle keep-alive connection closes after
    ``idle_timeout``. At most ``max_connections`` connections are open per listener; the last
    ``reserved_connections`` of them only serve quick requests (head within 1 s) to /metrics,
    /health and /api/v1/*, so these answer while slow clients hold the rest."""

    header_timeout: float = _duration(10.0)
    min_body_rate_bytes: int = 1024
    idle_timeout: float = _duration(60.0)
    max_connections: int = 32
    reserved_connections: int = 4


# -- alerts (telemetry.alerts; parsed in alerts.py) ---------------------------------------
@dataclass(frozen=True)
class EmailActionConfig:
    """``{"Email": {...}}``: SMTP (``security`` starttls | tls | none), ``password`` a
    ``keyring:``/``env:`` reference; the design document's ``recipients`` and ``subject``."""

    kind: ClassVar[str] = "Email"
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "timeline-telemetry@localhost"
    recipients: tuple[str, ...] = ()
    subject: str = ""
    name: str = "email"
    repeat_interval: float = _duration(4 * 3600.0)
    group_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class WebhookActionConfig:
    """``{"Webhook": {...}}``: ``format`` slack (the design document's ``payload`` + text) |
    generic. ``repeat_interval`` (all notifying actions): a still-firing alert is notified
    again after it; 0 = never (the receiver dedups)."""

    kind: ClassVar[str] = "Webhook"
    url: str = ""
    format: str = "slack"
    payload: FrozenMap = field(default_factory=FrozenMap)
    name: str = "webhook"
    repeat_interval: float = _duration(0.0)
    group_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PagerDutyActionConfig:
    """``{"PagerDuty": {...}}``: Events API v2; ``routing_key`` a ``keyring:`` reference.
    ``group_by`` (Email, Webhook, PagerDuty): label names that group alerts, as
    Alertmanager's route does (``["..."]``: every label; ``[]``: one group); null (default)
    groups per rule, i.e. ``["alertname"]``. One PagerDuty incident and one mail thread per
    group. Alertmanager groups on its own side (its ``route.group_by``)."""

    kind: ClassVar[str] = "PagerDuty"
    routing_key: str = ""
    description: str = ""
    url: str = "https://events.pagerduty.com/v2/enqueue"
    name: str = "pagerduty"
    repeat_interval: float = _duration(0.0)
    group_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AlertmanagerActionConfig:
    """``{"Alertmanager": {"url": ...}}``: POST /api/v2/alerts; firing alerts are re-sent
    every ``alerts.resend_delay`` (Prometheus's protocol), so no ``repeat_interval``."""

    kind: ClassVar[str] = "Alertmanager"
    url: str = "http://127.0.0.1:9093"
    name: str = "alertmanager"


AlertActionConfig: TypeAlias = (
    EmailActionConfig | WebhookActionConfig | PagerDutyActionConfig | AlertmanagerActionConfig
)


@dataclass(frozen=True)
class AlertRuleOptions:
    """Per-alert options: ``cooldown`` (no repeat notification within it), ``actions``
    (names; null = all), ``resolve_condition`` (PromQL; hysteresis: stays firing while true)."""

    alert: str = ""
    cooldown: float = _duration(0.0)
    actions: tuple[str, ...] | None = None
    resolve_condition: str | None = None


@dataclass(frozen=True)
class FlapConfig:
    """Flap damping: more than ``max_changes`` flips within ``window`` hold firing (0 = off)."""

    max_changes: int = 4
    window: float = _duration(600.0)


@dataclass(frozen=True)
class StormConfig:
    """Storm coalescing limits (see ``alerts.notify.StormSettings``)."""

    per_rule: int = 5
    max_per_eval: int = 10


@dataclass(frozen=True)
class RenderSilenceConfig:
    """While ``condition`` (PromQL) returns anything, the listed ``alerts`` notify nobody."""

    enabled: bool = True
    condition: str = "editor_render_active > 0 or editor_export_active > 0"
    alerts: tuple[str, ...] = ("HighCPUUsage", "SlowVideoProcessing")


@dataclass(frozen=True)
class AlertsConfig:
    """``alerts``: rule files (null = the shipped ``alert_rules.yml``; relative paths from
    the config file's dir), cadence, actions, and the notification policy."""

    enabled: bool = True
    rule_files: tuple[Path, ...] | None = None
    evaluation_interval: float = _duration(15.0)
    resend_delay: float = _duration(60.0)
    history_path: Path | None = None
    desktop_notifications: bool = True
    desktop_repeat_interval: float = _duration(4 * 3600.0)
    actions: tuple[AlertActionConfig, ...] = ()
    rules: tuple[AlertRuleOptions, ...] = ()
    default_silence_duration: float = _duration(3600.0)
    flap: FlapConfig = field(default_factory=FlapConfig)
    storm: StormConfig = field(default_factory=StormConfig)
    render_silence: RenderSilenceConfig = field(default_factory=RenderSilenceConfig)


@dataclass(frozen=True)
class TelemetryConfig:
    """The whole ``"telemetry"`` object.

    ``source`` says where the config came from (a file path, ``preset development``, plus any
    environment overrides); it is not a JSON key and does not take part in equality.
    """

    enabled: bool = True
    service_name: str = "timeline-studio"
    service_version: str = "1.0.0"
    tracing: TracingConfig = field(default_factory=TracingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    editor: EditorConfig = field(default_factory=EditorConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    source: str = field(default="defaults", compare=False, metadata={"json": False})
    #: The top-level keys the config file set (``service_name``...), for the OTel precedence.
    given: frozenset[str] = field(default=frozenset(), compare=False, metadata={"json": False})

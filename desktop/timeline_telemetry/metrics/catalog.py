"""The one table of metric metadata (name, type, unit, help) that exporters, history, plots and
alert rules read. Names are the design document's; the additions follow Prometheus naming.

The design document's three ``*_duration_ms`` histograms keep their names although
``promtool check metrics`` calls ``ms`` an abbreviated unit: the design document's alert rules
and dashboards use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .model import MetricKind, MetricSpec

C, G, H = MetricKind.COUNTER, MetricKind.GAUGE, MetricKind.HISTOGRAM

#: Buckets for the design document's millisecond histograms: a frame (ms) to a long render
#: (minutes).
MS_BUCKETS: tuple[float, ...] = (
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
)

SYSTEM_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("system_cpu_usage_percent", G, "CPU usage of the whole machine (%).", "percent"),
    MetricSpec("system_memory_usage_bytes", G, "Memory in use (total minus available).", "bytes"),
    MetricSpec("system_memory_available_bytes", G, "Memory available to programs.", "bytes"),
    MetricSpec("system_disk_usage_bytes", G, "Used space per watched mount.", "bytes"),
    MetricSpec("system_disk_available_bytes", G, "Free space per watched mount.", "bytes"),
    MetricSpec(
        "system_network_bytes_sent_total",
        C,
        "Bytes sent on all non-loopback interfaces since boot.",
        "bytes",
    ),
    MetricSpec(
        "system_network_bytes_received_total",
        C,
        "Bytes received on all non-loopback interfaces since boot.",
        "bytes",
    ),
    MetricSpec("system_cpu_core_usage_percent", G, "CPU usage per logical core (%).", "percent"),
    MetricSpec("system_memory_total_bytes", G, "Physical memory installed.", "bytes"),
    MetricSpec("system_swap_usage_bytes", G, "Swap in use.", "bytes"),
    MetricSpec("system_swap_total_bytes", G, "Swap configured.", "bytes"),
    MetricSpec("system_load_average", G, "Run-queue load average (label period).", ""),
    MetricSpec("system_disk_total_bytes", G, "Size per watched mount.", "bytes"),
    MetricSpec("system_disk_read_bytes_total", C, "Bytes read from all disks.", "bytes"),
    MetricSpec("system_disk_written_bytes_total", C, "Bytes written to all disks.", "bytes"),
    MetricSpec("system_disk_reads_total", C, "Read operations on all disks.", ""),
    MetricSpec("system_disk_writes_total", C, "Write operations on all disks.", ""),
    MetricSpec("system_disk_read_time_seconds_total", C,
               "Time spent reading, summed over all disks (rate over reads = latency).",
               "seconds"),
    MetricSpec("system_disk_write_time_seconds_total", C,
               "Time spent writing, summed over all disks (rate over writes = latency).",
               "seconds"),
    MetricSpec("system_network_device_bytes_sent_total", C,
               "Bytes sent per interface (label device).", "bytes"),
    MetricSpec("system_network_device_bytes_received_total", C,
               "Bytes received per interface (label device).", "bytes"),
    MetricSpec("system_disk_device_read_bytes_total", C,
               "Bytes read per block device (label device).", "bytes"),
    MetricSpec("system_disk_device_written_bytes_total", C,
               "Bytes written per block device (label device).", "bytes"),
    MetricSpec("system_disk_device_reads_total", C,
               "Read operations per block device (label device).", ""),
    MetricSpec("system_disk_device_writes_total", C,
               "Write operations per block device (label device).", ""),
    MetricSpec("system_disk_device_read_time_seconds_total", C,
               "Time spent reading per block device (label device).", "seconds"),
    MetricSpec("system_disk_device_write_time_seconds_total", C,
               "Time spent writing per block device (label device).", "seconds"),
)

EDITOR_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("editor_up", G, "1 when an editor process is running, else 0.", ""),
    MetricSpec("editor_processes", G, "Editor processes and their children (label role).", ""),
    MetricSpec(
        "editor_child_processes", G, "Children of the editor by executable (label name).", ""
    ),
    MetricSpec(
        "editor_cpu_usage_percent",
        G,
        "CPU of the editor and its children, % of one core.",
        "percent",
    ),
    MetricSpec(
        "editor_memory_rss_bytes", G, "Resident memory of the editor and its children.", "bytes"
    ),
    MetricSpec("editor_threads", G, "Threads of the editor and its children.", ""),
    MetricSpec(
        "editor_open_files",
        G,
        "Open file descriptors (handles on Windows) of the editor and its children.",
        "",
    ),
    MetricSpec(
        "editor_io_read_bytes_total", C, "Bytes read by the editor and its children.", "bytes"
    ),
    MetricSpec(
        "editor_io_written_bytes_total", C, "Bytes written by the editor and its children.", "bytes"
    ),
    MetricSpec(
        "editor_uptime_seconds", G, "Seconds since the oldest editor process started.", "seconds"
    ),
)

GPU_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("gpu_utilization_percent", G, "GPU core utilisation (%).", "percent"),
    MetricSpec("gpu_memory_used_bytes", G, "GPU memory (VRAM) in use.", "bytes"),
    MetricSpec("gpu_memory_total_bytes", G, "GPU memory (VRAM) installed.", "bytes"),
    MetricSpec(
        "gpu_encoder_utilization_percent", G, "Video encoder (NVENC) utilisation (%).", "percent"
    ),
    MetricSpec(
        "gpu_decoder_utilization_percent", G, "Video decoder (NVDEC) utilisation (%).", "percent"
    ),
    MetricSpec("gpu_temperature_celsius", G, "GPU core temperature.", "celsius"),
    MetricSpec("gpu_sm_clock_hertz", G, "GPU SM (core) clock.", "hertz"),
    MetricSpec("gpu_memory_clock_hertz", G, "GPU memory clock.", "hertz"),
    MetricSpec("gpu_power_usage_watts", G, "GPU power draw.", "watts"),
    MetricSpec("gpu_power_limit_watts", G, "GPU power limit in force.", "watts"),
    MetricSpec(
        "gpu_throttle_reason", G,
        "1 while the GPU clocks are held back for this reason (label reason: sw_power_cap, "
        "sw_thermal, hw_thermal, hw_slowdown, hw_power_brake, gpu_idle, ...).", "",
    ),
    MetricSpec("gpu_encoder_sessions", G, "Active NVENC encoder sessions.", ""),
    MetricSpec("gpu_encoder_fps", G, "Average frame rate of the NVENC sessions.", ""),
    MetricSpec(
        "gpu_encoder_latency_seconds", G, "Average encode latency of the NVENC sessions.",
        "seconds",
    ),
    MetricSpec("gpu_fbc_sessions", G, "Active frame buffer capture (NvFBC) sessions.", ""),
    MetricSpec("gpu_fbc_fps", G, "Average frame rate of the NvFBC sessions.", ""),
    MetricSpec(
        "gpu_fbc_latency_seconds", G, "Average capture latency of the NvFBC sessions.",
        "seconds",
    ),
    MetricSpec("gpu_processes", G, "Processes holding memory on the GPU.", ""),
    MetricSpec(
        "process_gpu_utilization_percent", G,
        "GPU SM utilisation by process name (labels gpu, role: main/child/other, name; "
        "the busiest other names, the rest as (rest)).", "percent",
    ),
    MetricSpec(
        "process_gpu_encoder_utilization_percent", G,
        "NVENC utilisation by process name (labels gpu, role, name).", "percent",
    ),
    MetricSpec(
        "process_gpu_decoder_utilization_percent", G,
        "NVDEC utilisation by process name (labels gpu, role, name).", "percent",
    ),
    MetricSpec(
        "process_gpu_memory_used_bytes", G,
        "GPU memory (VRAM) by process name (labels gpu, role, name).", "bytes",
    ),
    MetricSpec(
        "process_gpu_encoder_sessions", G,
        "NVENC sessions by process name (labels gpu, role, name).", "",
    ),
    MetricSpec(
        "process_gpu_encoder_fps", G,
        "Frames per second encoded by process name, summed over its sessions.", "",
    ),
    MetricSpec(
        "process_gpu_encoder_latency_seconds", G,
        "Average encode latency by process name (labels gpu, role, name).", "seconds",
    ),
    MetricSpec(
        "editor_gpu_utilization_percent", G,
        "GPU SM utilisation of the editor and its children (label gpu).", "percent",
    ),
    MetricSpec(
        "editor_gpu_encoder_utilization_percent", G,
        "NVENC utilisation of the editor and its children (label gpu).", "percent",
    ),
    MetricSpec(
        "editor_gpu_decoder_utilization_percent", G,
        "NVDEC utilisation of the editor and its children (label gpu).", "percent",
    ),
    MetricSpec(
        "editor_gpu_memory_used_bytes", G,
        "GPU memory (VRAM) of the editor and its children (label gpu).", "bytes",
    ),
    MetricSpec(
        "editor_gpu_encoder_sessions", G,
        "NVENC sessions of the editor and its children (label gpu).", "",
    ),
    MetricSpec(
        "editor_gpu_encoder_fps", G,
        "Frames per second the editor and its children encode with NVENC (label gpu).", "",
    ),
)

AGENT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "telemetry_budget_backoff_factor", G,
        "1 = sampling normally; N = costly collectors every N-th interval (self-budget).", "",
    ),
    MetricSpec(
        "telemetry_budget_exceeded", G, "1 while the monitor's own CPU or RSS is over budget.", ""
    ),
    MetricSpec(
        "telemetry_sampling_reduced", G,
        "1 while sampling less, by reason (label reason: budget, render).", "",
    ),
    MetricSpec(
        "telemetry_agent_cpu_usage_percent", G, "The monitor's own CPU, % of one core.", "percent"
    ),
    MetricSpec(
        "telemetry_agent_memory_rss_bytes", G, "The monitor's own resident memory.", "bytes"
    ),
    MetricSpec(
        "telemetry_collector_errors_total", C, "Failed collector runs (label collector).", ""
    ),
    MetricSpec(
        "telemetry_collector_duration_seconds",
        G,
        "Duration of each collector's last run (label collector).",
        "seconds",
    ),
    MetricSpec("telemetry_export_errors_total", C, "Failed exports (label exporter).", ""),
    MetricSpec(
        "telemetry_remote_write_samples_sent_total", C,
        "Samples a remote-write exporter delivered (label exporter).", "",
    ),
    MetricSpec(
        "telemetry_remote_write_behind_seconds", G,
        "How far a remote-write exporter's cursor is behind the newest sample (label "
        "exporter).", "seconds",
    ),
    MetricSpec(
        "telemetry_remote_write_sent_bytes_total", C,
        "Compressed request bytes a remote-write exporter sent (label exporter).", "bytes",
    ),
    MetricSpec(
        "telemetry_remote_write_samples_dropped_total", C,
        "Samples a remote-write receiver refused for good (labels exporter, reason).", "",
    ),
    MetricSpec(
        "telemetry_job_duration_seconds", G,
        "Duration of each periodic job's last run (label job: collect, health, alerts, ...).",
        "seconds",
    ),
    MetricSpec(
        "telemetry_job_skipped_ticks_total", C,
        "Ticks a periodic job skipped because it was still running or the process was "
        "held up (label job); missed ticks are never made up in a burst.", "",
    ),
    MetricSpec(
        "telemetry_series_dropped_total", C, "Samples dropped by the per-metric series limit.", ""
    ),
    MetricSpec(
        "telemetry_history_write_errors_total", C, "Failed writes to the local history.", ""
    ),
)

APPLICATION_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("video_processing_duration_ms", H, "Video processing time.", "ms", MS_BUCKETS),
    MetricSpec("frame_processing_duration_ms", H, "Frame processing time.", "ms", MS_BUCKETS),
    MetricSpec("frames_processed_total", C, "Frames processed.", ""),
    MetricSpec("videos_processed_total", C, "Videos processed.", ""),
    MetricSpec("encoding_speed_fps", G, "Encoding speed in frames per second.", "fps"),
    MetricSpec("api_requests_total", C, "API requests.", ""),
    MetricSpec("api_request_duration_ms", H, "API request duration.", "ms", MS_BUCKETS),
    MetricSpec("api_errors_total", C, "API errors.", ""),
    MetricSpec("cache_hits_total", C, "Cache hits.", ""),
    MetricSpec("cache_misses_total", C, "Cache misses.", ""),
    MetricSpec("cache_evictions_total", C, "Cache evictions.", ""),
    MetricSpec("cache_size_bytes", G, "Cache size.", "bytes"),
    MetricSpec("worker_pool_utilization", G, "Worker pool utilisation (0-1).", "ratio"),
    MetricSpec("tasks_executed_total", C, "Tasks executed.", ""),
    MetricSpec("tasks_failed_total", C, "Tasks failed.", ""),
    MetricSpec("queue_size", G, "Task queue size.", ""),
)

HEALTH_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "system_health_status",
        G,
        "Overall health: 0=Unknown, 1=Healthy, 2=Warning, 3=Unhealthy.",
        "",
    ),
    MetricSpec("database_health_status", G, "Database health (0-3).", ""),
    MetricSpec("disk_space_health_status", G, "Free disk space health (0-3).", ""),
    MetricSpec("memory_health_status", G, "Available memory health (0-3).", ""),
    MetricSpec("external_api_health_status", G, "External API health (0-3).", ""),
    MetricSpec("ffmpeg_health_status", G, "FFmpeg availability health (0-3).", ""),
    MetricSpec("health_check_status", G, "Status of each health check (label check; 0-3).", ""),
    MetricSpec(
        "health_check_duration_seconds",
        H,
        "Run time of each health check (label check).",
        "seconds",
        buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
)


#: The trace and log exporters' and the OTLP receiver's own metrics.
TRACING_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "telemetry_trace_spans_exported_total",
        C,
        "Spans delivered by each trace exporter (label exporter).",
        "",
    ),
    MetricSpec(
        "telemetry_trace_spans_dropped_total",
        C,
        "Spans a trace exporter gave up on (labels exporter, reason: queue_full, "
        "rejected, shutdown).",
        "",
    ),
    MetricSpec(
        "telemetry_trace_export_queue_spans",
        G,
        "Spans waiting in each trace exporter's retry queue (label exporter).",
        "",
    ),
)

INGEST_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "telemetry_otlp_requests_total", C, "OTLP/HTTP requests received (labels signal, code).", ""
    ),
    MetricSpec(
        "telemetry_otlp_loop_refused_total", C,
        "OTLP requests refused because this agent's own exporter sent them back to its "
        "receiver (a trace exporter points at the receiver; label signal).", "",
    ),
    MetricSpec(
        "telemetry_otlp_received_items_total",
        C,
        "Spans, metric data points and log records received (label signal).",
        "",
    ),
    MetricSpec(
        "telemetry_otlp_rejected_items_total",
        C,
        "Received items that could not be used (label signal).",
        "",
    ),
    MetricSpec(
        "telemetry_ingest_rejected_total",
        C,
        "Received spans, data points, log records and resources refused or cut by the "
        "ingest limits or checks (labels signal, reason: attribute_count, "
        "attribute_value_length, metric_names, name_length, series_per_metric, series, "
        "invalid_id, end_before_start).",
        "",
    ),
    MetricSpec("telemetry_trace_store_traces", G, "Traces kept in the local trace store.", ""),
    MetricSpec("telemetry_trace_store_spans", G, "Spans kept in the local trace store.", ""),
    MetricSpec(
        "telemetry_otlp_log_records_written_total",
        C,
        "Received log records written to the logs file (label exporter).",
        "",
    ),
    MetricSpec(
        "telemetry_otlp_log_records_dropped_total",
        C,
        "Received log records not written (labels exporter, reason).",
        "",
    ),
    MetricSpec(
        "telemetry_otlp_log_queue_records",
        G,
        "Log records waiting to be written (label exporter).",
        "",
    ),
)


#: Alerting: firing alerts, Prometheus' ALERTS series, and the notification actions.
ALERT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("alerts_firing", G, "Firing alerts (labels alertname, severity).", ""),
    MetricSpec(
        "ALERTS", G, "Pending and firing alerts, as Prometheus exposes them (label alertstate).", ""
    ),
    MetricSpec(
        "alerts_notification_queue_length",
        G,
        "Notifications waiting in each action's retry queue (label exporter).",
        "",
    ),
    MetricSpec(
        "alerts_notifications_sent_total", C, "Notifications delivered (label exporter).", ""
    ),
    MetricSpec(
        "alerts_notifications_dropped_total",
        C,
        "Notifications given up on (labels exporter, reason).",
        "",
    ),
    MetricSpec("alerts_notification_errors_total", C, "Failed deliveries (label exporter).", ""),
)


def build_catalog(*groups: Iterable[MetricSpec]) -> Mapping[str, MetricSpec]:
    """Index specs by name; a name declared twice is a programming error."""
    table: dict[str, MetricSpec] = {}
    for group in groups:
        for spec in group:
            if spec.name in table:
                raise ValueError(f"metric {spec.name!r} is declared twice in the catalog")
            table[spec.name] = spec
    return MappingProxyType(table)


DEFAULT_CATALOG: Mapping[str, MetricSpec] = build_catalog(
    SYSTEM_METRICS,
    EDITOR_METRICS,
    GPU_METRICS,
    AGENT_METRICS,
    APPLICATION_METRICS,
    HEALTH_METRICS,
    TRACING_METRICS,
    INGEST_METRICS,
    ALERT_METRICS,
)

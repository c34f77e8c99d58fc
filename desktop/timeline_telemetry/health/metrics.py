"""Health as metrics: the design document's ``*_health_status`` gauges plus per-check series."""

from __future__ import annotations

from collections import defaultdict

from timeline_telemetry.metrics import Labels, MetricKind, Metrics

from .model import HealthReport, HealthStatus, worst

__all__ = ["KIND_METRICS", "UNKNOWN_UNTIL_CHECKED", "record_health_metrics"]

#: Which check kinds feed which of the design document's gauges (the worst of several checks
#: of a kind).
KIND_METRICS: dict[str, str] = {
    "database": "database_health_status",
    "disk_space": "disk_space_health_status",
    "memory": "memory_health_status",
    "external_api": "external_api_health_status",
    "ffmpeg": "ffmpeg_health_status",
}

#: Kinds whose gauge the design document lists as predefined although no check of that kind
#: runs unless configured: exposed as 0 (Unknown) until one exists, so dashboards and alert
#: rules copied from the document find the series instead of "no data".
UNKNOWN_UNTIL_CHECKED: frozenset[str] = frozenset({"database", "external_api"})


def record_health_metrics(metrics: Metrics, report: HealthReport) -> None:
    """Set the gauges from ``report`` and observe the durations of its fresh results.

    ``system_health_status`` is the overall status; each gauge of :data:`KIND_METRICS` is the
    worst of its kind's checks (and disappears when no check of that kind is left, except
    those of :data:`UNKNOWN_UNTIL_CHECKED`, which read 0);
    ``health_check_status{check}`` has one series per check; ``health_check_duration_seconds``
    gets an observation for every check that ran for this report (not cached results).
    Values are the design document's numbers (0 Unknown, 1 Healthy, 2 Warning, 3 Unhealthy).
    """
    metrics.replace_series("system_health_status", MetricKind.GAUGE,
                           [((), float(report.overall))])
    by_kind: dict[str, list[HealthStatus]] = defaultdict(list)
    per_check: list[tuple[Labels, float]] = []
    for name, result in report.results.items():
        by_kind[report.kinds.get(name, "custom")].append(result.status)
        per_check.append(((("check", name),), float(result.status)))
    for kind, metric in KIND_METRICS.items():
        statuses = by_kind.get(kind)
        values: list[tuple[Labels, float]] = [((), float(worst(statuses)))] if statuses else []
        if not statuses and kind in UNKNOWN_UNTIL_CHECKED:
            values = [((), float(HealthStatus.UNKNOWN))]
        metrics.replace_series(metric, MetricKind.GAUGE, values)
    metrics.replace_series("health_check_status", MetricKind.GAUGE, per_check)
    for name in report.fresh:
        result = report.results[name]
        metrics.record_histogram("health_check_duration_seconds", result.check_duration,
                                 {"check": name})

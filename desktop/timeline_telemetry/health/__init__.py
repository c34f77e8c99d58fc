"""Health checks: the framework (statuses, results, the manager with timeouts, cache and
transitions), the built-in checks of a video workstation, their metrics, the ``/health``
routes and the ``check`` command. Importing does no work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .build import MEDIA_FOOTAGE_BITRATE_MBPS, build_health_checks
    from .command import run_check_command
    from .database import DatabaseHealthCheck
    from .disk import DiskSpaceHealthCheck, DiskUsage
    from .exporters import ExporterStatusHealthCheck
    from .ffmpeg import FfmpegHealthCheck, FfmpegProbe, parse_encoders
    from .gpu import GpuThrottleHealthCheck
    from .http_api import HttpHealthCheck
    from .ingest import IngestLimitHit, IngestLimitsHealthCheck
    from .manager import OVERALL_COMPONENT, HealthCheckManager
    from .memory import MemoryHealthCheck
    from .metrics import KIND_METRICS, record_health_metrics
    from .model import (
        FunctionHealthCheck,
        HealthCheck,
        HealthCheckResult,
        HealthReport,
        HealthStatus,
        HealthTransition,
        worst,
    )
    from .process import ProcessHealthCheck
    from .routes import health_routes, report_to_json

__all__ = [
    "KIND_METRICS",
    "MEDIA_FOOTAGE_BITRATE_MBPS",
    "OVERALL_COMPONENT",
    "DatabaseHealthCheck",
    "DiskSpaceHealthCheck",
    "DiskUsage",
    "ExporterStatusHealthCheck",
    "FfmpegHealthCheck",
    "FfmpegProbe",
    "FunctionHealthCheck",
    "GpuThrottleHealthCheck",
    "HealthCheck",
    "HealthCheckManager",
    "HealthCheckResult",
    "HealthReport",
    "HealthStatus",
    "HealthTransition",
    "HttpHealthCheck",
    "IngestLimitHit",
    "IngestLimitsHealthCheck",
    "MemoryHealthCheck",
    "ProcessHealthCheck",
    "build_health_checks",
    "health_routes",
    "parse_encoders",
    "record_health_metrics",
    "report_to_json",
    "run_check_command",
    "worst",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "MEDIA_FOOTAGE_BITRATE_MBPS": ".build",
    "build_health_checks": ".build",
    "run_check_command": ".command",
    "DatabaseHealthCheck": ".database",
    "DiskSpaceHealthCheck": ".disk",
    "DiskUsage": ".disk",
    "ExporterStatusHealthCheck": ".exporters",
    "FfmpegHealthCheck": ".ffmpeg",
    "FfmpegProbe": ".ffmpeg",
    "parse_encoders": ".ffmpeg",
    "GpuThrottleHealthCheck": ".gpu",
    "HttpHealthCheck": ".http_api",
    "IngestLimitHit": ".ingest",
    "IngestLimitsHealthCheck": ".ingest",
    "OVERALL_COMPONENT": ".manager",
    "HealthCheckManager": ".manager",
    "MemoryHealthCheck": ".memory",
    "KIND_METRICS": ".metrics",
    "record_health_metrics": ".metrics",
    "FunctionHealthCheck": ".model",
    "HealthCheck": ".model",
    "HealthCheckResult": ".model",
    "HealthReport": ".model",
    "HealthStatus": ".model",
    "HealthTransition": ".model",
    "worst": ".model",
    "ProcessHealthCheck": ".process",
    "health_routes": ".routes",
    "report_to_json": ".routes",
})

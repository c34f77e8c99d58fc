"""Health checks: the framework (statuses, results, the manager with timeouts, cache and
transitions), the built-in checks of a video workstation, their metrics, the ``/health``
routes and the ``check`` command. Importing does no work.
"""

from __future__ import annotations

from .build import MEDIA_FOOTAGE_BITRATE_MBPS, build_health_checks
from .command import run_check_command
from .database import DatabaseHealthCheck
from .disk import DiskSpaceHealthCheck, DiskUsage
from .exporters import ExporterStatusHealthCheck
from .ffmpeg import FfmpegHealthCheck, FfmpegProbe, parse_encoders
from .http_api import HttpHealthCheck, redact_url
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
    "HealthCheck",
    "HealthCheckManager",
    "HealthCheckResult",
    "HealthReport",
    "HealthStatus",
    "HealthTransition",
    "HttpHealthCheck",
    "MemoryHealthCheck",
    "ProcessHealthCheck",
    "build_health_checks",
    "health_routes",
    "parse_encoders",
    "record_health_metrics",
    "redact_url",
    "report_to_json",
    "run_check_command",
    "worst",
]

"""Exporters: where snapshots go (Prometheus pull endpoint, OTLP/JSON files, the console).

Each exporter implements :class:`MetricsExporter` and reports an :class:`ExportStatus` built
by :class:`StatusTracker` from its real outcomes. prometheus-client is only imported when the
Prometheus exporter is used.
"""

from __future__ import annotations

from .base import ExportResult, ExportState, ExportStatus, MetricsExporter
from .console import ConsoleExporter
from .exposition import ExpositionRenderer
from .file import FileExporter, read_otlp_json_lines, repair_torn_tail, rotated_files
from .http_server import LocalHttpServer, PortInUseError, Request, Response
from .otlp_json import from_json_line, snapshot_to_otlp_request, to_json_line
from .prometheus import PrometheusExporter, SnapshotCollector
from .status import StatusTracker

__all__ = [
    "ConsoleExporter",
    "ExportResult",
    "ExportState",
    "ExportStatus",
    "ExpositionRenderer",
    "FileExporter",
    "LocalHttpServer",
    "MetricsExporter",
    "PortInUseError",
    "PrometheusExporter",
    "Request",
    "Response",
    "SnapshotCollector",
    "StatusTracker",
    "from_json_line",
    "read_otlp_json_lines",
    "repair_torn_tail",
    "rotated_files",
    "snapshot_to_otlp_request",
    "to_json_line",
]

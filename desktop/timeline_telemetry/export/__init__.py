"""Exporters: where snapshots go (Prometheus pull endpoint, OTLP/JSON files, the console).

Each exporter implements :class:`MetricsExporter` and reports an :class:`ExportStatus` built
by :class:`StatusTracker` from its real outcomes. prometheus-client is only imported when the
Prometheus exporter is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .base import ExportResult, ExportState, ExportStatus, MetricsExporter
    from .console import ConsoleExporter
    from .exposition import ExpositionRenderer
    from .file import FileExporter, read_otlp_json_lines, repair_torn_tail, rotated_files
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
    "MetricsExporter",
    "PrometheusExporter",
    "SnapshotCollector",
    "StatusTracker",
    "from_json_line",
    "read_otlp_json_lines",
    "repair_torn_tail",
    "rotated_files",
    "snapshot_to_otlp_request",
    "to_json_line",
]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "ExportResult": ".base",
    "ExportState": ".base",
    "ExportStatus": ".base",
    "MetricsExporter": ".base",
    "ConsoleExporter": ".console",
    "ExpositionRenderer": ".exposition",
    "FileExporter": ".file",
    "read_otlp_json_lines": ".file",
    "repair_torn_tail": ".file",
    "rotated_files": ".file",
    "from_json_line": ".otlp_json",
    "snapshot_to_otlp_request": ".otlp_json",
    "to_json_line": ".otlp_json",
    "PrometheusExporter": ".prometheus",
    "SnapshotCollector": ".prometheus",
    "StatusTracker": ".status",
})

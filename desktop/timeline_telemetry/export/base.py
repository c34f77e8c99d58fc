"""The exporter protocol and the export status every exporter reports from real outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from timeline_telemetry.metrics.model import Snapshot

__all__ = ["ExportResult", "ExportState", "ExportStatus", "MetricsExporter"]


class ExportResult(enum.Enum):
    """Outcome of one ``export`` call."""

    SUCCESS = "success"
    FAILURE = "failure"


class ExportState(enum.Enum):
    """The design document's ``ExportStatus`` variants."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class ExportStatus:
    """``Healthy``, ``Degraded(reason)`` or ``Failed(error)``; ``detail`` holds the reason."""

    state: ExportState
    detail: str = ""

    @classmethod
    def healthy(cls) -> ExportStatus:
        return cls(ExportState.HEALTHY)

    @classmethod
    def degraded(cls, reason: str) -> ExportStatus:
        return cls(ExportState.DEGRADED, reason)

    @classmethod
    def failed(cls, error: str) -> ExportStatus:
        return cls(ExportState.FAILED, error)

    def __str__(self) -> str:
        return self.state.value if not self.detail else f"{self.state.value}({self.detail})"


@runtime_checkable
class MetricsExporter(Protocol):
    """Where snapshots go. ``export`` is called once per collection on a worker thread and
    must not block for long; pull exporters (Prometheus) may ignore it and read at scrape time.
    """

    name: str

    def start(self) -> None:
        """Open files / bind sockets. Raises a specific error the CLI can print (port taken)."""
        ...

    def export(self, snapshot: Snapshot) -> ExportResult:
        """Hand over one snapshot."""
        ...

    def status(self) -> ExportStatus:
        """Health of this exporter from its recent real outcomes."""
        ...

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Flush and release; idempotent."""
        ...

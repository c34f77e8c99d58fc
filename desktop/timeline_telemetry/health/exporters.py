"""ExporterStatusHealthCheck: the agent itself, through its exporters' statuses."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from timeline_telemetry.export.base import ExportState, ExportStatus

from .model import HealthCheckResult

__all__ = ["ExporterStatusHealthCheck"]


class ExporterStatusHealthCheck:
    """Healthy when every exporter is Healthy; Warning naming each Degraded or Failed one
    (the editor is fine, only its telemetry is not getting out). ``status_source`` is e.g.
    ``TelemetryManager.get_export_status``."""

    kind = "exporters"

    def __init__(
        self,
        status_source: Callable[[], Mapping[str, ExportStatus]],
        *,
        name: str = "exporters",
        timeout: float | None = None,
    ) -> None:
        self._source = status_source
        self.name = name
        self.timeout = timeout

    def check(self) -> HealthCheckResult:
        """Read each exporter's status once."""
        statuses = dict(self._source())
        meta: dict[str, object] = {n: str(s) for n, s in statuses.items()}
        if not statuses:
            return HealthCheckResult.healthy("no exporters configured")
        bad = {n: s for n, s in statuses.items() if s.state is not ExportState.HEALTHY}
        if bad:
            listed = "; ".join(f"{n}: {s}" for n, s in bad.items())
            return HealthCheckResult.warning(
                f"{len(bad)} of {len(statuses)} exporter{'s' if len(statuses) > 1 else ''} "
                f"not healthy: {listed}", **meta)
        return HealthCheckResult.healthy(
            f"{len(statuses)} exporter{'s' if len(statuses) > 1 else ''} healthy: "
            f"{', '.join(statuses)}", **meta)

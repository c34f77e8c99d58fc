"""The Exporters tab: each exporter's status and error counter."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from timeline_telemetry.export.base import ExportState, ExportStatus
from timeline_telemetry.health import HealthStatus
from timeline_telemetry.ui.controller import AppController

from .tables import cell, list_table, status_icon

__all__ = ["ExportersTab"]

_ICON_STATUS = {ExportState.HEALTHY: HealthStatus.HEALTHY,
                ExportState.DEGRADED: HealthStatus.WARNING,
                ExportState.FAILED: HealthStatus.UNHEALTHY}


class ExportersTab(QWidget):
    """Refreshed after each collection while shown (``get_export_status`` is read on the
    pool); the window refreshes it when the tab is opened."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self.table = list_table(["Exporter", "State", "Errors", "Detail"], "Exporters")
        QVBoxLayout(self).addWidget(self.table)
        controller.snapshot_ready.connect(lambda _s: self.refresh(only_if_shown=True))

    def refresh(self, *, only_if_shown: bool = False) -> bool:
        """Read the statuses on the pool (with ``only_if_shown``, not while hidden); False
        when nothing was submitted (hidden, or the previous read still running)."""
        if only_if_shown and not self.isVisible():
            return False
        return self._ctl.runner.submit(self._ctl.manager.get_export_status, self.show_status,
                                       tag="exporters")

    def show_status(self, status: object) -> None:
        """Fill the table from ``{name: ExportStatus}``."""
        if not isinstance(status, dict):
            return
        errors: dict[str, float] = {}
        snap = self._ctl.last_snapshot
        if snap is not None:
            for s in snap.flat_samples():
                if s.name == "telemetry_export_errors_total":
                    errors[dict(s.labels).get("exporter", "")] = s.value
        self.table.setRowCount(len(status))
        for row, (name, st) in enumerate(sorted(status.items())):
            if not isinstance(st, ExportStatus):
                continue
            state = cell(st.state.value)
            state.setIcon(status_icon(_ICON_STATUS.get(st.state, HealthStatus.UNKNOWN)))
            cells = (cell(name, tip=name), state,
                     cell(f"{errors.get(name, 0):.0f}", right=True),
                     cell(st.detail, tip=st.detail))
            for col, item in enumerate(cells):
                self.table.setItem(row, col, item)

"""The Exporters tab: each exporter's status and error counter."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from timeline_telemetry.export.base import ExportStatus
from timeline_telemetry.ui.controller import AppController

__all__ = ["ExportersTab"]


class ExportersTab(QWidget):
    """Refreshed after each collection (``get_export_status`` is read on the pool)."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Exporter", "State", "Detail", "Errors"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        QVBoxLayout(self).addWidget(self.table)
        controller.snapshot_ready.connect(lambda _s: self.refresh())

    def refresh(self) -> None:
        """Read the statuses on the pool."""
        self._ctl.runner.submit(self._ctl.manager.get_export_status, self.show_status,
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
            cells = (name, st.state.value, st.detail, f"{errors.get(name, 0):.0f}")
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))

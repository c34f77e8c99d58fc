"""What the dashboard's tables share: a list-like table (no row numbers, no grid, columns
sized to their text, the last one stretched), status colours and icons, "N min ago" text."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from timeline_telemetry.health import HealthStatus

__all__ = ["STATUS_COLOURS", "ago", "cell", "list_table", "status_icon"]

STATUS_COLOURS = {
    HealthStatus.HEALTHY: QColor("#2e9d4f"),
    HealthStatus.WARNING: QColor("#d99a00"),
    HealthStatus.UNHEALTHY: QColor("#d0352b"),
    HealthStatus.UNKNOWN: QColor("#b0b4ba"),
}

_ICONS: dict[HealthStatus, QIcon] = {}


def status_icon(status: HealthStatus) -> QIcon:
    """A small filled circle in the status colour (made once per status, on first use)."""
    icon = _ICONS.get(status)
    if icon is None:
        pix = QPixmap(12, 12)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(STATUS_COLOURS[status])
        p.drawEllipse(1, 1, 10, 10)
        p.end()
        icon = _ICONS[status] = QIcon(pix)
    return icon


def list_table(headers: Sequence[str], name: str = "") -> QTableWidget:
    """A read-only, row-selecting table that reads like a list: no row numbers, no grid, no
    wrapping, each column as wide as its text and the last one (the long free text: put it
    last) taking the rest of the width. ``name`` is what a screen reader calls it."""
    table = QTableWidget(0, len(headers))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    return table


def cell(text: str, *, right: bool = False, tip: str = "") -> QTableWidgetItem:
    """A table item; ``right`` aligns numbers to the right, ``tip`` is its tooltip."""
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def ago(seconds: float) -> str:
    """``12 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago`` (negative counts as 0)."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s / 60:.0f} min ago"
    if s < 86400:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} d ago"

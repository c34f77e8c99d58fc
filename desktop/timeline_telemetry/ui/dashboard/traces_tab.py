"""The Traces tab: recent spans slowest first, filters, and a waterfall of the selected trace.

Spans come from the OTLP receiver's trace store (``manager.receiver.trace_store``), read on
the pool. Without a receiver the tab says so.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.ingest.trace_store import StoredSpan
from timeline_telemetry.ui.controller import AppController

__all__ = ["TracesTab", "Waterfall"]


class Waterfall(QWidget):
    """Each span of one trace as a bar placed by its start and length."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spans: list[StoredSpan] = []
        self.setMinimumHeight(120)

    def set_spans(self, spans: list[StoredSpan]) -> None:
        """Show these spans (sorted by start)."""
        self.spans = spans
        self.setMinimumHeight(20 + 20 * max(1, len(spans)))
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Draw the bars, errors in red."""
        p = QPainter(self)
        if not self.spans:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a span to see its trace")
            p.end()
            return
        t0 = min(s.start_ns for s in self.spans)
        total = max(1, max(s.end_ns for s in self.spans) - t0)
        left, width = 220.0, max(1.0, self.width() - 230.0)
        for i, s in enumerate(self.spans):
            y = 8 + 20 * i
            p.setPen(Qt.GlobalColor.black)
            p.drawText(QRectF(4, y, left - 8, 16), Qt.AlignmentFlag.AlignVCenter,
                       f"{s.name} ({s.duration_s * 1000:.1f} ms)")
            x = left + width * (s.start_ns - t0) / total
            w = max(2.0, width * (s.end_ns - s.start_ns) / total)
            p.fillRect(QRectF(x, y, w, 16), QColor("#d0352b" if s.error else "#3b7dd8"))
        p.end()


class TracesTab(QWidget):
    """Filters (name, minimum duration), a span table, a waterfall."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._spans: list[StoredSpan] = []
        filters = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Span name (exact, empty = all)")
        self.min_ms = QDoubleSpinBox()
        self.min_ms.setRange(0, 3_600_000)
        self.min_ms.setSuffix(" ms")
        self.refresh_btn = QPushButton("Refresh")
        filters.addWidget(QLabel("Name:"))
        filters.addWidget(self.name_edit, 2)
        filters.addWidget(QLabel("At least:"))
        filters.addWidget(self.min_ms)
        filters.addWidget(self.refresh_btn)
        self.note = QLabel("")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Span", "Service", "Duration", "Trace"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.currentCellChanged.connect(lambda row, *_: self._select(row))
        self.waterfall = Waterfall()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.waterfall)
        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addWidget(self.note)
        lay.addWidget(split)
        self.refresh_btn.clicked.connect(self.refresh)
        self.name_edit.returnPressed.connect(self.refresh)

    def refresh(self) -> None:
        """Query the trace store on the pool with the current filters."""
        receiver = self._ctl.manager.receiver
        if receiver is None:
            self.note.setText("The OTLP receiver is off: no traces are received.")
            return
        store = receiver.trace_store
        name = self.name_edit.text().strip() or None
        min_s = self.min_ms.value() / 1000 or None
        self._ctl.runner.submit(lambda: store.find(name=name, min_duration_s=min_s, limit=200),
                                self.show_spans, tag="traces")

    def show_spans(self, spans: object) -> None:
        """Fill the table, slowest first."""
        items = [s for s in spans if isinstance(s, StoredSpan)] if isinstance(spans, list) else []
        self._spans = sorted(items, key=lambda s: -s.duration_s)
        self.table.setRowCount(len(self._spans))
        for i, s in enumerate(self._spans):
            for col, text in enumerate((s.name, s.service, f"{s.duration_s * 1000:.1f} ms",
                                        s.trace_id[:16])):
                self.table.setItem(i, col, QTableWidgetItem(text))
        self.note.setText(f"{len(self._spans)} spans")

    def _select(self, row: int) -> None:
        receiver = self._ctl.manager.receiver
        if receiver is None or not 0 <= row < len(self._spans):
            return
        store, tid = receiver.trace_store, self._spans[row].trace_id
        self._ctl.runner.submit(lambda: store.trace(tid), self._show_trace, tag="trace")

    def _show_trace(self, spans: object) -> None:
        if isinstance(spans, list):
            self.waterfall.set_spans([s for s in spans if isinstance(s, StoredSpan)])

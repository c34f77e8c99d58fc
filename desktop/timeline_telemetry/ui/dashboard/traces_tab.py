"""The Traces tab: recent spans slowest first, filters, and a waterfall of the selected trace.

Spans come from the OTLP receiver's trace store (``manager.receiver.trace_store``), read on
the pool. Without a receiver the tab says so.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.ingest.trace_store import StoredSpan
from timeline_telemetry.ui.controller import AppController

from .painting import draw_swatches, draw_ticks
from .plotspec import nice_step
from .tables import cell, list_table

__all__ = ["TracesTab", "Waterfall", "span_tip", "tree_order"]


_BAR = QColor("#3b7dd8")
_ERROR = QColor("#d0352b")
_ROW, _TOP, _LEFT = 20, 48, 230.0


def tree_order(spans: list[StoredSpan]) -> list[tuple[StoredSpan, int]]:
    """The spans parent first, children by start time under it, with their depth (a span
    whose parent is not in the list is a root)."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[StoredSpan]] = {}
    for s in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        parent = s.parent_span_id if s.parent_span_id in ids else ""
        children.setdefault(parent, []).append(s)
    out: list[tuple[StoredSpan, int]] = []
    stack = [(s, 0) for s in reversed(children.get("", []))]
    while stack:
        span, depth = stack.pop()
        out.append((span, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(span.span_id, [])))
    return out


def span_tip(span: StoredSpan, t0_ns: int) -> str:
    """A bar's tooltip: name, service, start offset, duration, and the error if any."""
    lines = [f"{span.name} ({span.service})" if span.service else span.name,
             f"starts at +{(span.start_ns - t0_ns) / 1e6:.1f} ms, "
             f"lasts {span.duration_s * 1000:.1f} ms"]
    if span.error:
        lines.append("Error" + (f": {span.status_message}" if span.status_message else ""))
    lines += [f"{k} = {v}" for k, v in span.attributes[:8]]
    return "\n".join(lines)


class Waterfall(QWidget):
    """Each span of one trace as a bar placed by its start and length, children indented
    under their parent, on a scale in ms from the trace's start; red bars are spans whose
    status is error (the legend says so, a tooltip gives each bar's details)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spans: list[StoredSpan] = []
        self._rows: list[tuple[StoredSpan, int]] = []
        self.setMinimumHeight(120)

    def set_spans(self, spans: list[StoredSpan]) -> None:
        """Show these spans (drawn parent first, children by start)."""
        self.spans = spans
        self._rows = tree_order(spans)
        self.setMinimumHeight(_TOP + _ROW * max(1, len(spans)) + 8)
        self.update()

    def span_at(self, y: float) -> StoredSpan | None:
        """The span drawn on the row at height ``y`` (widget coordinates), if any."""
        row = int((y - _TOP) // _ROW)
        return self._rows[row][0] if y >= _TOP and row < len(self._rows) else None

    def event(self, event: QEvent) -> bool:
        """Tooltips: the details of the bar under the mouse."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            span = self.span_at(event.pos().y())
            if span is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(),
                                  span_tip(span, min(s.start_ns for s in self.spans)), self)
            return True
        return super().event(event)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The legend, the ms scale, then one row per span."""
        p = QPainter(self)
        p.setPen(self.palette().text().color())
        if not self.spans:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a span to see its trace")
            p.end()
            return
        end = draw_swatches(p, 4, 2, [(_BAR, "span"), (_ERROR, "span with error status")])
        p.drawText(QRectF(end, 2, max(1.0, self.width() - end), 18),
                   Qt.AlignmentFlag.AlignVCenter, "(hover a bar for details)")
        t0 = min(s.start_ns for s in self.spans)
        total = max(1, max(s.end_ns for s in self.spans) - t0)
        width = max(1.0, self.width() - _LEFT - 12)
        p.drawText(QRectF(4, _TOP - 20, _LEFT - 8, 16), Qt.AlignmentFlag.AlignVCenter,
                   "Time since trace start")
        total_ms = total / 1e6
        step = nice_step(total_ms * 90 / width)
        p.save()
        p.setPen(QColor("#555"))
        draw_ticks(p, (_LEFT, _TOP - 2, width, _ROW * len(self._rows)), total_ms,
                   (lambda v: f"{v / 1000:g} s") if step >= 1000 else (lambda v: f"{v:g} ms"),
                   step=step)
        p.restore()
        fm = p.fontMetrics()
        for i, (s, depth) in enumerate(self._rows):
            y = _TOP + _ROW * i
            indent = 4 + 12 * min(depth, 8)
            text = fm.elidedText(f"{s.name} ({s.duration_s * 1000:.1f} ms)",
                                 Qt.TextElideMode.ElideMiddle, int(_LEFT - 8 - indent))
            p.drawText(QRectF(indent, y, _LEFT - 8 - indent, 16), Qt.AlignmentFlag.AlignVCenter,
                       text)
            x = _LEFT + width * (s.start_ns - t0) / total
            w = max(2.0, width * (s.end_ns - s.start_ns) / total)
            p.fillRect(QRectF(x, y, w, 16), _ERROR if s.error else _BAR)
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
        self.table = list_table(["Span", "Service", "Duration", "Trace"])
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
            self.table.setItem(i, 0, cell(s.name))
            self.table.setItem(i, 1, cell(s.service))
            self.table.setItem(i, 2, cell(f"{s.duration_s * 1000:.1f} ms", right=True))
            self.table.setItem(i, 3, cell(s.trace_id, tip="Trace id: select the row to see "
                                                          "the whole trace below"))
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

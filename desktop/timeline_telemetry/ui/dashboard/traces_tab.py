"""The Traces tab: recent traces named by their root span and service, slowest first, with
duration and status; filters (name, duration, errors); a waterfall of the selected trace.

Spans come from the OTLP receiver's trace store (``manager.receiver.trace_store``), read on
the pool. Without a receiver the tab says so.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
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

from timeline_telemetry.ingest.trace_store import StoredSpan, TraceSummary
from timeline_telemetry.ui.controller import AppController

from .painting import draw_swatches, draw_ticks
from .plotspec import nice_step
from .tables import ago, cell, list_table

__all__ = ["TracesTab", "Waterfall", "filter_traces", "fmt_duration", "span_tip", "tree_order"]


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
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
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


def filter_traces(traces: list[TraceSummary], *, name: str = "", min_s: float = 0.0,
                  errors_only: bool = False) -> list[TraceSummary]:
    """The traces whose root span or service contains ``name`` (any case), lasting at least
    ``min_s`` seconds, with an error when ``errors_only``; slowest first."""
    needle = name.strip().lower()
    out = [t for t in traces
           if (not needle or needle in t.root_name.lower() or needle in t.service.lower())
           and t.duration_s >= min_s and (t.errors > 0 or not errors_only)]
    return sorted(out, key=lambda t: -t.duration_s)


def fmt_duration(seconds: float) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 05 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


class TracesTab(QWidget):
    """Filters (name, minimum duration, errors only), a table of traces named by their root
    span and service, and the waterfall of the selected one."""

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctl = controller
        self._all: list[TraceSummary] = []
        self._traces: list[TraceSummary] = []
        filters = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Root span or service contains…")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setAccessibleName("Filter by name")
        self.min_ms = QDoubleSpinBox()
        self.min_ms.setRange(0, 3_600_000)
        self.min_ms.setSuffix(" ms")
        self.min_ms.setAccessibleName("Minimum duration")
        self.errors_only = QCheckBox("&Errors only")
        self.refresh_btn = QPushButton("&Refresh")
        name_label, min_label = QLabel("&Name:"), QLabel("At &least:")
        name_label.setBuddy(self.name_edit)
        min_label.setBuddy(self.min_ms)
        filters.addWidget(name_label)
        filters.addWidget(self.name_edit, 2)
        filters.addWidget(min_label)
        filters.addWidget(self.min_ms)
        filters.addWidget(self.errors_only)
        filters.addWidget(self.refresh_btn)
        self.note = QLabel("")
        self.table = list_table(["Duration", "Status", "Spans", "Service", "Trace"], "Traces")
        self.table.currentCellChanged.connect(lambda row, *_: self._select(row))
        self.waterfall = Waterfall()
        self.waterfall.setAccessibleName("Trace waterfall")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.waterfall)
        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addWidget(self.note)
        lay.addWidget(split)
        self.refresh_btn.clicked.connect(self.refresh)
        self.name_edit.textChanged.connect(lambda _t: self._apply_filters())
        self.min_ms.valueChanged.connect(lambda _v: self._apply_filters())
        self.errors_only.toggled.connect(lambda _on: self._apply_filters())

    def refresh(self) -> None:
        """Read the recent traces from the trace store on the pool."""
        receiver = self._ctl.manager.receiver
        if receiver is None:
            self.note.setText("The OTLP receiver is off: no traces are received.")
            return
        store = receiver.trace_store
        self._ctl.runner.submit(lambda: store.traces(limit=500), self.show_traces,
                                tag="traces")

    def show_traces(self, traces: object) -> None:
        """Keep these traces (``TraceSummary``) and show those the filters pass."""
        self._all = ([t for t in traces if isinstance(t, TraceSummary)]
                     if isinstance(traces, list) else [])
        self._apply_filters()

    def _apply_filters(self) -> None:
        shown = filter_traces(self._all, name=self.name_edit.text(),
                              min_s=self.min_ms.value() / 1000,
                              errors_only=self.errors_only.isChecked())
        self._traces = shown
        self.table.setRowCount(len(shown))
        now = time.time()
        for i, t in enumerate(shown):
            status = cell("OK" if not t.errors else f"{t.errors} error"
                          + ("s" if t.errors > 1 else ""))
            if t.errors:
                status.setForeground(_ERROR)
            title = cell(t.root_name, tip=f"Trace id {t.trace_id}, started "
                                          f"{ago(now - t.start_ns / 1e9)}")
            for col, item in enumerate((cell(fmt_duration(t.duration_s), right=True), status,
                                        cell(str(t.spans), right=True), cell(t.service),
                                        title)):
                self.table.setItem(i, col, item)
        self.note.setText(f"{len(shown)} of {len(self._all)} traces")

    def _select(self, row: int) -> None:
        if not 0 <= row < len(self._traces):
            return
        self.open_trace(self._traces[row].trace_id)

    def open_trace(self, trace_id: str) -> None:
        """Show ``trace_id``'s waterfall (read from the trace store on the pool)."""
        receiver = self._ctl.manager.receiver
        if receiver is None:
            return
        store = receiver.trace_store
        self._ctl.runner.submit(lambda: store.trace(trace_id), self._show_trace, tag="trace")

    def _show_trace(self, spans: object) -> None:
        if isinstance(spans, list):
            self.waterfall.set_spans([s for s in spans if isinstance(s, StoredSpan)])

"""The dashboard: tabs, live plots from the history, health table and timeline, traces
waterfall, exporters, alerts with and without a provider."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QHeaderView, QTableWidget, QToolTip
from pytestqt.qtbot import QtBot
from ui_support import running_app

from timeline_telemetry.health import HealthStatus, HealthTransition
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.ingest.trace_store import StoredSpan, TraceSummary
from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import NO_TRAY_REASON, TrayApp
from timeline_telemetry.ui.dashboard.alerts_tab import NOT_AVAILABLE
from timeline_telemetry.ui.dashboard.plotdata import PlotData, PlotReader
from timeline_telemetry.ui.dashboard.plotspec import (
    PAD,
    PLOTS,
    curve_name,
    plotted_names,
    sticky_y_range,
    y_range_for,
)
from timeline_telemetry.ui.dashboard.tables import ago
from timeline_telemetry.ui.dashboard.traces_tab import span_tip, tree_order


@pytest.fixture
def app(qtbot: QtBot, runtime: AgentRuntime, paths: AppPaths) -> Iterator[TrayApp]:
    with running_app(runtime, paths, tray_available=False) as a:
        yield a


def test_no_tray_opens_dashboard_with_reason(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None and d.isVisible()
    assert d.banner.isVisible() and d.banner.text() == NO_TRAY_REASON
    assert [d.tabs.tabText(i).replace("&", "") for i in range(d.tabs.count())] == [
        "Overview", "Metrics", "Health", "Alerts", "Traces", "Exporters"]
    assert d.tabs.currentWidget() is d.overview_tab  # the Overview opens first
    with qtbot.waitSignal(app.stopped, timeout=5000):
        d.close()  # without a tray, closing the window stops the app


def test_plots_fill_from_history(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    d.open_item("metrics")  # the Overview opens first
    items = d.metrics_tab._items

    def cpu_points() -> int:
        curves = items["CPU total"]
        return sum(0 if c.getData()[0] is None else len(c.getData()[0]) for c in curves.values())

    qtbot.waitUntil(lambda: cpu_points() >= 2, timeout=20_000)
    assert items["Memory used"], "memory curves"
    assert all(k.startswith("core ") for k in items["CPU per core"])
    # The searchable list offers every stored name the fixed plots do not draw.
    lst = d.metrics_tab.metric_list
    qtbot.waitUntil(lambda: lst.count() > 5, timeout=5000)
    listed = {lst.item(i).text() for i in range(lst.count())}
    assert not listed & plotted_names()
    assert "system_cpu_usage_percent" not in listed and "system_memory_total_bytes" in listed
    d.metrics_tab.search.setText("memory_total")
    visible = [lst.item(i).text() for i in range(lst.count()) if not lst.item(i).isHidden()]
    assert visible == ["system_memory_total_bytes"]
    d.metrics_tab.select_metric("system_memory_total_bytes")
    qtbot.waitUntil(lambda: bool(items["Pushed metric"]), timeout=5000)
    d.metrics_tab.window_box.setCurrentIndex(3)  # 7 d
    assert d.metrics_tab.span() == (7 * 86400.0, 60)


def test_plot_ranges_are_fixed_floored_and_calm(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    d.open_item("metrics")  # the Overview opens first
    tab = d.metrics_tab
    plots = tab._plots

    def has_data(title: str) -> bool:
        return any(c.getData()[0] is not None and len(c.getData()[0])
                   for c in tab._items[title].values())

    qtbot.waitUntil(lambda: has_data("Disk usage") and has_data("Network"), timeout=20_000)
    for spec in PLOTS:
        vb = plots[spec.title].getViewBox()
        assert vb.state["autoRange"] == [False, False], spec.title
        assert plots[spec.title].viewRange()[0] == [-300.0, 0.0], spec.title
        lo, hi = plots[spec.title].viewRange()[1]
        if spec.y_range is not None:  # percentages: 0-100 (and a little room)
            assert lo == pytest.approx(-2.0) and hi == pytest.approx(102.0)
            continue
        limits = vb.state["limits"]
        assert hi - lo >= spec.min_span, spec.title  # noise never fills the plot
        assert limits["yRange"][0] == spec.min_span
        assert limits["yLimits"][0] == pytest.approx(lo)  # never panned below the floor
        assert lo >= -PAD * (hi - lo) * 1.001, spec.title  # nothing below 0 but the margin
    # The curves are inside the range, and the range stays put while they are.
    disk = plots["Disk usage"]
    ys = [y for c in tab._items["Disk usage"].values() for y in c.getData()[1]]
    lo, hi = disk.viewRange()[1]
    assert lo <= min(ys) and max(ys) <= hi and hi - lo >= 1.0  # GiB, not 24.6835..24.68375
    # Legends are see-through and at the left, away from "now" (the right edge).
    legend = plots["Disk I/O"].legend
    assert legend.opts["brush"].color().alpha() < 255 and legend.offset[0] > 0
    assert not plots["CPU total"].legend.isVisible()  # one curve, no labels: no legend
    before, queries = disk.viewRange()[1], tab.queries
    qtbot.waitUntil(lambda: tab.queries >= queries + 2, timeout=10_000)
    assert disk.viewRange()[1] == before


def test_y_range_for_ignores_noise_and_keeps_zero_in_view() -> None:
    lo, hi = y_range_for(24.6835, 24.68375, min_span=1.0, floor=0.0)  # "Disk usage" noise
    assert hi - lo >= 1.0 and lo <= 24.6835 and hi >= 24.68375
    assert lo == round(lo * 4) / 4 and hi == round(hi * 4) / 4  # round ends
    lo, hi = y_range_for(0.0, 0.0, min_span=1.0, floor=0.0)  # no traffic: 0..1, not -0.4..0.4
    assert (lo, hi) == (pytest.approx(-PAD), 1.0)
    lo, hi = y_range_for(0.0, 37.0, min_span=1.0, floor=0.0)  # a burst
    assert lo == pytest.approx(-PAD * 40) and hi == 40.0
    lo, hi = y_range_for(-5.0, 5.0, min_span=0.0, floor=None)  # may be negative
    assert lo <= -5 and hi >= 5
    lo, hi = y_range_for(7.0, 7.0, min_span=0.0, floor=None)  # flat, no minimum
    assert lo < 7 < hi
    assert y_range_for(float("inf"), float("-inf"), min_span=1.0, floor=0.0)[1] == 1.0


def test_sticky_y_range_moves_only_when_needed() -> None:
    cur = y_range_for(24.68, 24.69, min_span=1.0, floor=0.0)
    assert sticky_y_range(24.6, 24.9, cur, min_span=1.0, floor=0.0) is None  # still inside
    moved = sticky_y_range(24.6, cur[1] + 0.1, cur, min_span=1.0, floor=0.0)  # left it
    assert moved is not None and moved[1] >= cur[1] + 0.1
    burst = y_range_for(0.0, 90.0, min_span=1.0, floor=0.0)
    back = sticky_y_range(0.0, 0.2, burst, min_span=1.0, floor=0.0)  # after the burst
    assert back is not None and back[1] == 1.0
    assert sticky_y_range(float("inf"), float("-inf"), cur, min_span=1.0, floor=0.0) is None


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _write(store: HistoryStore, start: int, stop: float, step: float = 1.0) -> None:
    t = float(start)
    while t < stop:
        store.append(t, [
            FlatSample("system_disk_usage_bytes", (("mountpoint", "/"),), 2**30 * 24 + t),
            FlatSample("system_network_bytes_sent_total", (), 1000.0 * t),
            FlatSample("system_memory_usage_bytes", (), 2**30 * (1 + t % 3)),
            FlatSample("system_memory_total_bytes", (), 2**30 * 16)])
        t += step
    store.flush()


def _same(a: dict[str, PlotData], b: dict[str, PlotData]) -> None:
    assert a.keys() == b.keys()
    for title, da in a.items():
        db = b[title]
        assert [c[0] for c in da.curves] == [c[0] for c in db.curves], title
        for (_n, xa, ya), (_m, xb, yb) in zip(da.curves, db.curves, strict=True):
            assert list(xa) == pytest.approx(list(xb)) and list(ya) == pytest.approx(list(yb))
        assert (da.lo, da.hi, da.total) == (db.lo, db.hi, db.total)


def test_plot_reader_reads_only_whats_new(tmp_path: Path) -> None:
    t0 = 1_700_000_000
    clock = _Clock(t0 + 100.0)
    store = HistoryStore(tmp_path / "h.sqlite3", retention=86400.0, clock=clock)
    try:
        specs = [s for s in PLOTS if s.title in ("Disk usage", "Network", "Memory used")]
        _write(store, t0, t0 + 100)
        reader = PlotReader(store, clock=clock)
        first = reader.read(specs, 300.0, incremental=True)
        assert (reader.full_reads, reader.incremental_reads) == (1, 0)
        assert len(first["Disk usage"].curves[0][1]) == 100
        assert first["Network"].curves[0][2] == pytest.approx([1000 / 2**20] * 99)
        assert first["Memory used"].total == 16.0
        _write(store, t0 + 100, t0 + 110)
        clock.now = t0 + 110.0
        second = reader.read(specs, 300.0, incremental=True)
        assert (reader.full_reads, reader.incremental_reads) == (1, 1)
        _same(second, PlotReader(store, clock=clock).read(specs, 300.0, incremental=False))
        # Stamped before the last read but written after it: still picked up.
        _write(store, t0 + 109, t0 + 109.6, step=0.5)  # 109.0 again and 109.5
        _write(store, t0 + 110, t0 + 111)
        clock.now = t0 + 111.0
        xs = reader.read(specs, 300.0, incremental=True)["Disk usage"].curves[0][1]
        assert len(xs) == 112 and -1.5 in xs  # 0..110 and 109.5
        # The window slides: points older than it are dropped.
        _write(store, t0 + 111, t0 + 350)
        clock.now = t0 + 350.0
        third = reader.read(specs, 300.0, incremental=True)
        assert reader.full_reads == 1
        xs = third["Disk usage"].curves[0][1]
        assert xs[0] == -300.0 and len(xs) == 301  # 50..349 and 109.5
        # Another window (or other metrics) reads everything again.
        reader.read(specs, 3600.0, incremental=False)
        reader.read(specs[:1], 300.0, incremental=True)
        assert (reader.full_reads, reader.incremental_reads) == (3, 3)
    finally:
        store.close()


def test_curve_names() -> None:
    disk_io = next(s for s in PLOTS if s.title == "Disk I/O")
    assert curve_name(disk_io, 0, (("device", "sda"),)) == "read sda"
    cpu = next(s for s in PLOTS if s.title == "CPU total")
    assert curve_name(cpu, 0, ()) == ""  # a lone curve: the title names it, no legend
    memory = next(s for s in PLOTS if s.title == "Memory used")
    assert memory.metrics == ("system_memory_usage_bytes",)
    assert memory.total == "system_memory_total_bytes"


def test_plots_rest_while_another_tab_is_shown(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None and d.metrics_tab.span()[1] == 1  # 5 min: every tick
    d.open_item("metrics")  # the Overview opens first
    qtbot.waitUntil(lambda: d.metrics_tab.queries >= 1, timeout=5000)
    d.tabs.setCurrentWidget(d.health_tab)
    before = d.metrics_tab.queries
    for _ in range(3):
        d.metrics_tab.refresh()
    assert d.metrics_tab.queries == before
    d.tabs.setCurrentWidget(d.metrics_tab)  # shown again: catches up at once
    assert d.metrics_tab.queries == before + 1
    d.metrics_tab.refresh()
    assert d.metrics_tab.queries == before + 2


def test_health_tab_and_open_item(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    table = d.health_tab.table
    qtbot.waitUntil(lambda: table.rowCount() >= 1, timeout=20_000)
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert "scratch-disk" in names
    row = names.index("scratch-disk")
    assert table.item(row, 1).text() == "Healthy"
    assert not table.item(row, 1).icon().isNull()
    assert table.item(row, 2).text().endswith(" s ago")
    assert "used" in table.item(row, 3).text()
    d.open_item("health:scratch-disk")
    assert d.tabs.currentWidget() is d.health_tab
    assert table.currentRow() == row
    assert d.health_tab.timeline._rows == names


def test_status_timeline_says_what_it_shows(qtbot: QtBot, app: TrayApp) -> None:
    app.show_dashboard("health")
    d = app.dashboard
    assert d is not None
    timeline = d.health_tab.timeline
    now = time.time()
    transitions = [
        HealthTransition("disk", HealthStatus.UNKNOWN, HealthStatus.HEALTHY, now - 1800, "ok", 1),
        HealthTransition("disk", HealthStatus.HEALTHY, HealthStatus.WARNING, now - 600,
                         "92% used", 2)]
    timeline.set_data(["disk"], transitions)
    assert timeline.status_at("disk", now - 3000)[0] is HealthStatus.UNKNOWN
    assert timeline.status_at("disk", now - 1000)[0] is HealthStatus.HEALTHY
    assert timeline.status_at("disk", now - 60) == (HealthStatus.WARNING, "92% used")
    timeline.resize(800, 200)
    assert not timeline.grab().isNull()
    # Hovering the right end of the bar names the check, its status and the message.
    y = 50 + 5  # the first row
    tip = QHelpEvent(QEvent.Type.ToolTip, QPoint(timeline.width() - 14, y),
                     timeline.mapToGlobal(QPoint(timeline.width() - 14, y)))
    assert timeline.event(tip)
    qtbot.waitUntil(lambda: "disk: Warning" in QToolTip.text(), timeout=2000)
    assert "92% used" in QToolTip.text()


def _list_like(table: QTableWidget) -> bool:
    header = table.horizontalHeader()
    last = table.columnCount() - 1
    return (table.verticalHeader().isHidden() and header.stretchLastSection()
            and all(header.sectionResizeMode(c) == QHeaderView.ResizeMode.ResizeToContents
                    for c in range(last)))


def test_tables_read_like_lists(app: TrayApp) -> None:
    app.show_dashboard("")
    d = app.dashboard
    assert d is not None
    for tab in (d.health_tab, d.alerts_tab, d.traces_tab, d.exporters_tab):
        assert _list_like(tab.table), type(tab).__name__
    # The long free text is the last (stretched) column.
    assert d.health_tab.table.horizontalHeaderItem(3).text() == "Message"
    assert d.exporters_tab.table.horizontalHeaderItem(3).text() == "Detail"
    assert d.alerts_tab.table.horizontalHeaderItem(4).text() == "Summary"
    assert d.traces_tab.table.horizontalHeaderItem(4).text() == "Trace"
    assert [ago(s) for s in (3, 300, 7200, 3 * 86400)] == [
        "3 s ago", "5 min ago", "2 h ago", "3 d ago"]


def test_exporters_tab_lists_receiver(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    d.open_item("exporters")
    t = d.exporters_tab.table
    qtbot.waitUntil(lambda: t.rowCount() == 1 and t.item(0, 0) is not None, timeout=10_000)
    assert t.item(0, 0).text() == "otlp-receiver"
    assert t.item(0, 1).text() == "Healthy"
    assert t.item(0, 2).text() == "0"
    # Hidden (another tab), the per-collection refresh reads nothing.
    runner = app.controller.runner
    qtbot.waitUntil(lambda: not runner.busy("exporters"), timeout=5000)
    d.open_item("health")
    assert not d.exporters_tab.refresh(only_if_shown=True)
    d.open_item("exporters")
    qtbot.waitUntil(lambda: not runner.busy("exporters"), timeout=5000)
    assert d.exporters_tab.refresh(only_if_shown=True)


def test_alerts_tab_without_provider(app: TrayApp) -> None:
    app.show_dashboard("alerts")
    d = app.dashboard
    assert d is not None
    assert d.tabs.currentWidget() is d.alerts_tab
    assert d.alerts_tab.note.text() == NOT_AVAILABLE
    assert not d.alerts_tab.btn_ack.isEnabled()


def test_traces_tab_table_and_waterfall(qtbot: QtBot, app: TrayApp) -> None:
    app.show_dashboard("traces")
    d = app.dashboard
    assert d is not None
    tab = d.traces_tab

    def span(name: str, sid: str, parent: str, start: int, end: int) -> StoredSpan:
        return StoredSpan("ab" * 16, sid, parent, name, "editor", start, end, (), (), False,
                          "", 1)

    spans = [span("export", "01" * 8, "", 0, 2_000_000_000),
             span("encode", "02" * 8, "01" * 8, 100_000_000, 1_500_000_000)]
    now = time.time_ns()
    tab.show_traces([
        TraceSummary("ab" * 16, "export", "editor", 2, now - 10**9, 2.0, 0),
        TraceSummary("cd" * 16, "render_timeline", "timeline-studio", 40, now, 95.5, 3),
        TraceSummary("ef" * 16, "thumbnail", "timeline-studio", 1, now, 0.25, 0)])
    # named by root span and service, slowest first, with duration and status
    rows = [[tab.table.item(r, c).text() for c in range(5)] for r in range(3)]
    assert rows == [["1 min 35 s", "3 errors", "40", "timeline-studio", "render_timeline"],
                    ["2.0 s", "OK", "2", "editor", "export"],
                    ["250 ms", "OK", "1", "timeline-studio", "thumbnail"]]
    assert "ab" * 16 in tab.table.item(1, 4).toolTip()  # the id is still there
    tab.name_edit.setText("TIMELINE")  # root span or service, any case
    assert tab.table.rowCount() == 2
    tab.min_ms.setValue(1000)
    assert tab.table.rowCount() == 1
    tab.name_edit.setText("")
    tab.errors_only.setChecked(True)
    assert [tab.table.item(r, 4).text() for r in range(tab.table.rowCount())] == [
        "render_timeline"]
    assert tab.note.text() == "1 of 3 traces"
    tab.errors_only.setChecked(False)
    tab.min_ms.setValue(0)
    tab._show_trace(spans)
    assert tab.waterfall.spans == spans
    pix = tab.waterfall.grab()
    assert not pix.isNull()
    # The bar under the mouse explains itself; red bars say "Error".
    wf = tab.waterfall
    first_row = 48 + 5
    assert wf.span_at(first_row) == spans[0] and wf.span_at(first_row + 20) == spans[1]
    assert wf.span_at(5) is None and wf.span_at(first_row + 40) is None
    at = QPoint(300, first_row + 20)
    assert wf.event(QHelpEvent(QEvent.Type.ToolTip, at, wf.mapToGlobal(at)))
    qtbot.waitUntil(lambda: QToolTip.text().startswith("encode (editor)"), timeout=2000)
    assert "starts at +100.0 ms, lasts 1400.0 ms" in QToolTip.text()
    # A refresh against the real (empty) receiver store yields no rows.
    tab.refresh()
    qtbot.waitUntil(lambda: tab.note.text() == "0 of 0 traces", timeout=5000)


def test_trace_order_and_error_tip() -> None:
    def span(name: str, sid: str, parent: str, start: int, *, error: bool = False
             ) -> StoredSpan:
        return StoredSpan("cd" * 16, sid, parent, name, "", start, start + 10, (("k", "v"),),
                          (), error, "disk full" if error else "", 1)

    root = span("root", "a", "", 0)
    late, early = span("late", "b", "a", 50), span("early", "c", "a", 5)
    grandchild = span("leaf", "d", "b", 60, error=True)
    orphan = span("orphan", "e", "zz", 1)  # its parent was not received: a root
    order = tree_order([grandchild, late, orphan, early, root])
    assert [(s.name, depth) for s, depth in order] == [
        ("root", 0), ("early", 1), ("late", 1), ("leaf", 2), ("orphan", 0)]
    tip = span_tip(grandchild, 0)
    assert tip.splitlines() == ["leaf", "starts at +0.0 ms, lasts 0.0 ms",
                                "Error: disk full", "k = v"]

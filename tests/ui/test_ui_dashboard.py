"""The dashboard: tabs, live plots from the history, health table and timeline, traces
waterfall, exporters, alerts with and without a provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from timeline_telemetry.ingest.trace_store import StoredSpan
from timeline_telemetry.manager import TelemetryManager
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.ui.app import NO_TRAY_REASON, TrayApp
from timeline_telemetry.ui.dashboard.alerts_tab import NOT_AVAILABLE


@pytest.fixture
def app(qtbot: QtBot, manager: TelemetryManager, paths: AppPaths) -> Iterator[TrayApp]:
    a = TrayApp(manager, paths, tray_available=False)
    yield a
    a.quit()
    if a.dashboard is not None:
        a.dashboard.deleteLater()


def test_no_tray_opens_dashboard_with_reason(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None and d.isVisible()
    assert d.banner.isVisible() and d.banner.text() == NO_TRAY_REASON
    assert [d.tabs.tabText(i) for i in range(d.tabs.count())] == [
        "Metrics", "Health", "Alerts", "Traces", "Exporters"]
    with qtbot.waitSignal(app.stopped, timeout=5000):
        d.close()  # without a tray, closing the window stops the app


def test_plots_fill_from_history(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    items = d.metrics_tab._items

    def cpu_points() -> int:
        curves = items["CPU total"]
        return sum(0 if c.getData()[0] is None else len(c.getData()[0]) for c in curves.values())

    qtbot.waitUntil(lambda: cpu_points() >= 2, timeout=20_000)
    assert items["Memory"], "memory curves"
    assert "usage_percent" in " ".join(items["CPU per core"]) or items["CPU per core"] == {}
    # The searchable list offers every stored name; picking one plots it.
    qtbot.waitUntil(lambda: d.metrics_tab.metric_list.count() > 5, timeout=5000)
    d.metrics_tab.search.setText("memory_total")
    visible = [d.metrics_tab.metric_list.item(i).text()
               for i in range(d.metrics_tab.metric_list.count())
               if not d.metrics_tab.metric_list.item(i).isHidden()]
    assert visible == ["system_memory_total_bytes"]
    d.metrics_tab.select_metric("system_memory_total_bytes")
    qtbot.waitUntil(lambda: bool(items["Pushed metric"]), timeout=5000)
    d.metrics_tab.window_box.setCurrentIndex(3)  # 7 d
    assert d.metrics_tab.span() == (7 * 86400.0, 60)


def test_plots_rest_while_another_tab_is_shown(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None and d.metrics_tab.span()[1] == 1  # 5 min: every tick
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
    assert "used" in table.item(row, 2).text()
    d.open_item("health:scratch-disk")
    assert d.tabs.currentWidget() is d.health_tab
    assert table.currentRow() == row
    assert d.health_tab.timeline._rows == names


def test_exporters_tab_lists_receiver(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    d = app.dashboard
    assert d is not None
    d.open_item("exporters")
    t = d.exporters_tab.table
    qtbot.waitUntil(lambda: t.rowCount() == 1 and t.item(0, 0) is not None, timeout=10_000)
    assert t.item(0, 0).text() == "otlp-receiver"
    assert t.item(0, 1).text() == "Healthy"


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
    tab.show_spans(list(reversed(spans)))
    assert [tab.table.item(r, 0).text() for r in range(2)] == ["export", "encode"]
    assert tab.table.item(0, 2).text() == "2000.0 ms"
    tab._show_trace(spans)
    assert tab.waterfall.spans == spans
    pix = tab.waterfall.grab()
    assert not pix.isNull()
    # A refresh against the real (empty) receiver store yields no rows.
    tab.refresh()
    qtbot.waitUntil(lambda: tab.note.text() == "0 spans", timeout=5000)

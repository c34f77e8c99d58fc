"""The Metrics tab's plots: history drawn on open, the time axis, the crosshair's values with
units, the theme from the palette, the Okabe-Ito colours, CSV export of a series for the
window shown, and the text summaries for screen readers."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.ui.app import TrayApp
from timeline_telemetry.ui.dashboard.plots import MetricsTab, fmt_ago, fmt_value
from timeline_telemetry.ui.dashboard.theme import OKABE_ITO, is_dark


def _metrics_over_an_hour_of_cpu(app: TrayApp) -> MetricsTab:
    """An hour of CPU recorded before the window opens; the Metrics page shown at 1 h."""
    history = app.manager.history
    assert history is not None
    now = time.time()
    for i in range(360):  # an hour at 10 s
        history.append(now - 3600 + 10 * i,
                       [FlatSample("system_cpu_usage_percent", (), 20.0 + (i % 10))])
    history.flush()
    app.show_dashboard("metrics")
    d = app.dashboard
    assert d is not None
    tab = d.metrics_tab
    tab.window_box.setCurrentIndex(1)  # 1 h
    return tab


def test_labels_and_units() -> None:
    assert [fmt_ago(x) for x in (0.0, -45.0, -300.0, -3 * 3600.0, -2 * 86400.0)] == [
        "now", "-45 s", "-5 min", "-3 h", "-2 d"]
    assert fmt_value(41.6, "%") == "42 %"
    assert fmt_value(3.2149, "GiB") == "3.21 GiB"
    assert fmt_value(0.5, "MiB/s") == "0.5 MiB/s"


def test_opens_with_the_hour_already_drawn_and_crosshair(qtbot: QtBot, app: TrayApp) -> None:
    tab = _metrics_over_an_hour_of_cpu(app)
    items = tab._items["CPU total"]

    def oldest() -> float:
        xs = [c.getData()[0] for c in items.values() if c.getData()[0] is not None]
        return min((float(x.min()) for x in xs if len(x)), default=0.0)

    qtbot.waitUntil(lambda: oldest() < -3000, timeout=10000)  # the whole hour, at once
    text = tab.crosshair_text("CPU total", -1800.0)
    first, value = text.splitlines()[:2]
    assert first == "-30 min"
    assert value.endswith(" %") and 20 <= float(value.split(": ")[1].split()[0]) <= 29
    # a screen reader gets each plot's last value and trend
    qtbot.waitUntil(lambda: "CPU total" in tab.summaries, timeout=5000)
    assert "%" in tab.summaries["CPU total"]
    assert any(t in tab.summaries["CPU total"] for t in ("rising", "falling", "steady"))
    assert "CPU total" in tab._grid.accessibleDescription()
    # colours from the Okabe-Ito palette
    pen = next(iter(items.values())).opts["pen"]
    assert pen.color().name().upper() in {c.upper() for c in OKABE_ITO} | {
        "#56B4E9", "#E69F00"}


def test_export_csv_of_the_window(qtbot: QtBot, app: TrayApp, tmp_path: Path) -> None:
    tab = _metrics_over_an_hour_of_cpu(app)
    out = tmp_path / "cpu.csv"
    tab.export_csv("CPU total", out)
    qtbot.waitUntil(lambda: "written to" in tab.status.text(), timeout=10000)
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["timestamp", "series", "value", "unit"]
    assert len(rows) > 300  # the recorded hour (and what the core added since)
    assert rows[1][0].endswith("Z") and rows[1][3] == "%"
    assert f"{len(rows) - 1} rows" in tab.status.text()
    # 5 min: only the last minutes
    tab.window_box.setCurrentIndex(0)
    short = tmp_path / "cpu5.csv"
    tab.export_csv("CPU total", short)
    qtbot.waitUntil(lambda: str(short) in tab.status.text(), timeout=10000)
    assert len(short.read_text().splitlines()) < 60


def test_theme_follows_a_dark_palette(qtbot: QtBot, app: TrayApp) -> None:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    old = qapp.palette()
    dark = QPalette(old)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"),
                         (QPalette.ColorRole.Base, "#17181a"),
                         (QPalette.ColorRole.Text, "#e8eaed"),
                         (QPalette.ColorRole.WindowText, "#e8eaed")):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    try:
        assert is_dark(dark)
        app.show_dashboard("metrics")
        d = app.dashboard
        assert d is not None
        assert d.metrics_tab._bg.lightness() < 60
        assert d.metrics_tab._fg.lightness() > 180
    finally:
        qapp.setPalette(old)


def test_renders_from_a_real_otel_client_shade_every_plot(qtbot: QtBot, app: TrayApp) -> None:
    from timeline_telemetry.ui.dashboard.plots import WorkRegion
    from timeline_telemetry.ui.otel_sample import send_editor_traces

    receiver = app.manager.receiver
    assert receiver is not None
    assert send_editor_traces(receiver.bound_port) == 12
    app.show_dashboard("metrics")
    d = app.dashboard
    assert d is not None
    tab = d.metrics_tab
    tab.window_box.setCurrentIndex(1)  # 1 h: all three renders
    qtbot.waitUntil(lambda: len(tab.annotations) == 3, timeout=10000)
    assert sorted(n.label for n in tab.annotations) == [
        "export_master (timeline-studio)", "render_preview (timeline-studio)",
        "render_timeline (timeline-studio)"]
    failed = next(n for n in tab.annotations if n.label.startswith("render_preview"))
    assert failed.error and "failed" in failed.tip
    regions = [i for i in tab._notes["CPU total"] if isinstance(i, WorkRegion)]
    assert len(regions) == 3 and all(len(v) == 3 for v in tab._notes.values())
    assert next(r for r in regions if r.note is failed).toolTip() == failed.tip  # on hover
    lo, hi = next(r for r in regions if r.note is failed).getRegion()
    assert hi - lo == pytest.approx(95.0, abs=0.5) and -260 < lo < -230
    # a click (the region's mouse event, as the scene delivers it) opens the trace waterfall
    class Click:
        accepted = False

        def button(self) -> Qt.MouseButton:
            return Qt.MouseButton.LeftButton

        def accept(self) -> None:
            self.accepted = True

    click = Click()
    next(r for r in regions if r.note is failed).mouseClickEvent(click)
    assert click.accepted
    assert d.tabs.currentWidget() is d.traces_tab
    qtbot.waitUntil(lambda: len(d.traces_tab.waterfall.spans) == 4, timeout=5000)
    assert {s.name for s in d.traces_tab.waterfall.spans} == {
        "render_preview", "decode_clips", "apply_effects", "encode_h264"}
    # 5 min: only the last render is in the window
    d.open_item("metrics")
    tab.window_box.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len(tab.annotations) == 1, timeout=10000)


def test_switching_to_dark_recolours_the_open_plots(qtbot: QtBot, app: TrayApp) -> None:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    old = qapp.palette()
    app.show_dashboard("metrics")
    d = app.dashboard
    assert d is not None
    tab = d.metrics_tab
    qtbot.waitUntil(lambda: bool(tab._items["CPU total"]), timeout=10000)
    assert tab._bg.lightness() > 128  # built light
    dark = QPalette(old)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"),
                         (QPalette.ColorRole.Base, "#17181a"),
                         (QPalette.ColorRole.Text, "#e8eaed")):
        dark.setColor(role, QColor(colour))
    try:
        qapp.setPalette(dark)
        qtbot.waitUntil(lambda: tab._bg.lightness() < 60, timeout=5000)
        assert tab._grid.backgroundBrush().color().lightness() < 60
        assert tab._plots["CPU total"].getAxis("left").textPen().color().lightness() > 180
        pen = next(iter(tab._items["CPU total"].values())).opts["pen"]
        assert pen.color().name().upper() == "#56B4E9"  # the Okabe-Ito blue for dark
    finally:
        qapp.setPalette(old)
    qtbot.waitUntil(lambda: tab._bg.lightness() > 128, timeout=5000)

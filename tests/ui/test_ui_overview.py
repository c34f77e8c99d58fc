"""The Overview page over the real core: figures from real collections and health rounds,
the drive as free space, the editor's state, sparklines seeded from the history,
accessible names and descriptions, keyboard focus."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_support import running_app

from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import TrayApp
from timeline_telemetry.ui.providers import AlertRow


class OneAlert:
    def list_active(self) -> list[AlertRow]:
        return [AlertRow("k", "HighCpu", "firing", "warning", "CPU > 90%", 0.0)]

    def history(self, limit: int) -> list[AlertRow]:
        return []

    def snooze(self, key: str, seconds: float) -> None:
        """Not needed here."""

    def acknowledge(self, key: str) -> None:
        """Not needed here."""


@pytest.fixture
def app(qtbot: QtBot, runtime: AgentRuntime, paths: AppPaths) -> Iterator[TrayApp]:
    with running_app(runtime, paths, alerts=OneAlert()) as a:
        yield a


def test_overview_shows_the_core_figures(qtbot: QtBot, app: TrayApp) -> None:
    history = app.manager.history
    assert history is not None
    # ten minutes of recorded CPU before the window opens: the sparkline starts with them
    now = time.time()
    for i in range(55):
        history.append(now - 600 + 10 * i,
                       [FlatSample("system_cpu_usage_percent", (), float(i % 7) * 10)])
    history.flush()
    app.start()
    app.show_dashboard("")
    d = app.dashboard
    assert d is not None
    ov = d.overview_tab
    assert d.tabs.currentWidget() is ov
    cards = ov.cards
    qtbot.waitUntil(lambda: cards["cpu"].value.text().endswith("%"), timeout=10000)
    qtbot.waitUntil(lambda: cards["ram"].value.text().endswith("iB"), timeout=10000)
    assert cards["ram"].detail.text().startswith("of ")
    assert cards["gpu"].value.text() == "n/a"  # the GPU collector is off in this config
    qtbot.waitUntil(lambda: cards["cpu"].spark is not None
                    and len(cards["cpu"].spark.values) >= 40, timeout=10000)
    assert ov.editor_card.value.text() == "Not running"
    assert not ov.editor_progress.isVisible()
    # the checked drive (scratch-disk) appears from the health round, as free space
    qtbot.waitUntil(lambda: "drive:scratch-disk" in ov._drive_cards, timeout=10000)
    assert ov._drive_cards["drive:scratch-disk"].value.text().endswith("free")
    qtbot.waitUntil(lambda: ov.alerts.count() == 1
                    and "HighCpu" in ov.alerts.item(0).text(), timeout=5000)
    qtbot.waitUntil(lambda: ov.exporters.count() >= 1, timeout=5000)
    # the same names and states as the core's export status (the OTLP receiver here)
    status = app.manager.get_export_status()
    texts = [ov.exporters.item(i).text() for i in range(ov.exporters.count())]
    assert texts == [f"✓ {n}: {st.state.value}" for n, st in sorted(status.items())] or (
        not status and texts == ["No exporters configured"])
    # network: a rate after the second collection
    qtbot.waitUntil(lambda: "/s" in cards["net"].value.text(), timeout=10000)
    # screen readers: every card has a name and a sentence with the value and a trend
    for card in (*cards.values(), ov.editor_card):
        assert card.accessibleName()
    desc = cards["cpu"].accessibleDescription()
    assert desc.startswith("CPU: ") and "%" in desc
    assert any(t in desc for t in ("rising", "falling", "steady"))
    # keyboard: the cards take Tab focus
    assert cards["cpu"].focusPolicy() & Qt.FocusPolicy.TabFocus


def test_hidden_overview_does_no_work(qtbot: QtBot, app: TrayApp) -> None:
    app.start()
    app.show_dashboard("metrics")
    d = app.dashboard
    assert d is not None and d.tabs.currentWidget() is d.metrics_tab
    before = d.overview_tab.updates
    n = app.controller.runtime.manager
    qtbot.waitUntil(lambda: n.last_snapshot is not None, timeout=5000)
    seen = app.controller.last_snapshot
    qtbot.waitUntil(lambda: app.controller.last_snapshot is not seen, timeout=5000)
    assert d.overview_tab.updates == before

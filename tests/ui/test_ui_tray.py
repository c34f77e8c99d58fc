"""The tray: menu shape and actions, tooltip and icon from real collections and health
rounds, notifications on health transitions, the alerts submenu over a provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot
from ui_support import HIGH_CPU_RULE, running_app

from timeline_telemetry.notifications import Notification
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.alerts_adapter import ACKNOWLEDGE_SECONDS
from timeline_telemetry.ui.app import TrayApp


def _make(qtbot: QtBot, runtime: AgentRuntime, paths: AppPaths,
          **kw: object) -> Iterator[TrayApp]:
    with running_app(runtime, paths, **kw) as app:
        opened: list[Path] = []
        app.tray._open_path = opened.append
        app.opened = opened  # type: ignore[attr-defined]
        yield app


@pytest.fixture
def tray_app(qtbot: QtBot, runtime: AgentRuntime, paths: AppPaths) -> Iterator[TrayApp]:
    yield from _make(qtbot, runtime, paths)


def _labels(actions: list[QAction]) -> list[str]:
    return [a.text() for a in actions if not a.isSeparator()]


def test_menu_shape_and_unavailable_providers(tray_app: TrayApp) -> None:
    menu = tray_app.tray.menu
    assert _labels(menu.actions()) == [
        "Open dashboard", "Health", "Active alerts", "Pause collection", "Do not disturb",
        "Reload rules", "Export diagnostics bundle… (not available)", "Open config folder",
        "Open logs", "Quit",
    ]
    assert not tray_app.tray.act_bundle.isEnabled()
    assert _labels(tray_app.tray.alerts_menu.actions()) == ["Alerts not available"]
    health = _labels(tray_app.tray.health_menu.actions())  # the core's first round may be in
    assert health == ["No results yet"] or all(": " in label for label in health), health


def test_health_round_fills_menu_tooltip_and_icon(qtbot: QtBot, tray_app: TrayApp) -> None:
    tray_app.start()
    qtbot.waitUntil(lambda: tray_app.controller.last_report is not None
                    and tray_app.controller.last_snapshot is not None, timeout=20_000)
    qtbot.waitUntil(lambda: "scratch-disk: Healthy"
                    in _labels(tray_app.tray.health_menu.actions()), timeout=5000)
    # The CPU figure needs one measuring window (the second collection); until then the
    # tooltip says so.
    qtbot.waitUntil(lambda: "CPU: measuring" not in tray_app.tray.tray.toolTip(),
                    timeout=10_000)
    tip = tray_app.tray.tray.toolTip()
    assert tip.startswith("Timeline Telemetry: Healthy")
    assert "\nCPU: " in tip
    assert "Memory: " in tip and "GiB" in tip


def test_tooltip_figures_follow_collections_calmly_state_at_once(
    qtbot: QtBot, tray_app: TrayApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each new tooltip is a D-Bus round trip with the panel: its figures are refreshed at
    most every TOOLTIP_EVERY_S, a pause (like a health change) shows at once. With the
    dashboard closed and no value in the icon, the GUI thread hears of a collection at that
    pace too (the core still collects every second and keeps ``last_snapshot`` current)."""
    import timeline_telemetry.ui.tray as tray_mod

    t = tray_app.tray
    tray_app.start()
    qtbot.waitUntil(lambda: "CPU: " in t.tray.toolTip()
                    and "measuring" not in t.tray.toolTip(), timeout=15_000)
    built: list[str] = []

    def counting(*args: object, **kw: object) -> str:
        built.append(text := tray_mod.summary_tooltip(*args, **kw))  # type: ignore[arg-type]
        return text

    monkeypatch.setattr(tray_mod, "summary_tooltip", tray_mod.tooltip_text, raising=False)
    monkeypatch.setattr(tray_mod, "tooltip_text", counting)
    snapshots: list[object] = []
    tray_app.controller.snapshot_ready.connect(snapshots.append)
    manager = tray_app.runtime.manager
    start = manager.collections
    qtbot.waitUntil(lambda: manager.collections >= start + 3, timeout=10_000)
    # The latest one's event has reached the controller (on the collecting thread): kept.
    qtbot.waitUntil(lambda: tray_app.controller.last_snapshot is manager.last_snapshot,
                    timeout=5000)
    assert tray_mod.TOOLTIP_EVERY_S >= 3
    assert len(built) <= 1, built  # three collections, at most one refresh fell due
    assert len(snapshots) <= 1, snapshots  # nor more than one trip to the GUI thread
    t.act_pause.trigger()
    qtbot.waitUntil(lambda: "(paused)" in t.tray.toolTip(), timeout=5000)
    assert "(paused)" in built[-1]
    t.act_pause.trigger()


def _delivered(qtbot: QtBot, app: TrayApp, collections: int) -> int:
    """How many collections reached the GUI thread while the core made ``collections``."""
    got: list[object] = []
    app.controller.snapshot_ready.connect(got.append)
    manager = app.runtime.manager
    start = manager.collections
    qtbot.waitUntil(lambda: manager.collections >= start + collections, timeout=15_000)
    # The latest collection was delivered (the GUI thread set it), or kept on the way.
    qtbot.waitUntil(lambda: app.controller.last_snapshot is manager.last_snapshot,
                    timeout=5000)
    app.controller.snapshot_ready.disconnect(got.append)
    return len(got)


def test_the_gui_thread_follows_each_collection_only_while_something_shows_it(
    qtbot: QtBot, tray_app: TrayApp
) -> None:
    """The dashboard open, or a value in the icon: every collection; closed again: the
    tooltip's pace."""
    tray_app.start()
    qtbot.waitUntil(lambda: "CPU: " in tray_app.tray.tray.toolTip()
                    and not tray_app.tray.measuring, timeout=15_000)
    assert _delivered(qtbot, tray_app, 3) <= 1
    tray_app.show_dashboard("health")
    assert _delivered(qtbot, tray_app, 3) >= 3
    dashboard = tray_app.dashboard
    assert dashboard is not None
    dashboard.close()
    assert _delivered(qtbot, tray_app, 3) <= 1
    tray_app.controller.tray_value_changed.emit("cpu")
    assert tray_app.tray.tray_value == "cpu"
    assert _delivered(qtbot, tray_app, 3) >= 3
    tray_app.controller.tray_value_changed.emit("off")
    assert _delivered(qtbot, tray_app, 3) <= 1


def test_pause_dnd_folders_and_quit(qtbot: QtBot, tray_app: TrayApp, paths: AppPaths) -> None:
    t = tray_app.tray
    t.act_pause.trigger()
    assert tray_app.controller.paused
    # The core says it paused (an event, delivered on the GUI thread); the tooltip follows.
    qtbot.waitUntil(lambda: re.match(r"Timeline Telemetry: \w+ \(paused\)",
                                     t.tray.toolTip()) is not None, timeout=5000)
    assert tray_app.runtime.paused
    t.act_pause.trigger()
    assert not tray_app.controller.paused
    t.act_dnd.trigger()
    assert tray_app.centre.do_not_disturb
    t.act_config.trigger()
    t.act_logs.trigger()
    assert tray_app.opened == [paths.config_dir, paths.log_dir]  # type: ignore[attr-defined]
    with qtbot.waitSignal(t.quit_requested, timeout=1000):
        t.act_quit.trigger()


def test_failing_check_notifies_once_coalesced(
    qtbot: QtBot, failing_runtime: AgentRuntime, paths: AppPaths
) -> None:
    gen = _make(qtbot, failing_runtime, paths)
    app = next(gen)
    try:
        app.centre._coalesce = 0.2
        shown: list[Notification] = []
        app.notifier.shown.connect(shown.append)
        app.start()
        qtbot.waitUntil(lambda: bool(shown), timeout=20_000)
        note = shown[0]
        assert note.title == "scratch-disk: Unhealthy"
        assert note.keys == ("health:scratch-disk",)
        assert note.severity == 2
        assert "Attention: scratch-disk" in app.tray.tray.toolTip()
        # Clicking the notification opens the dashboard at the check.
        app.tray.tray.messageClicked.emit()
        assert app.dashboard is not None and app.dashboard.isVisible()
        assert app.dashboard.tabs.currentWidget() is app.dashboard.health_tab
    finally:
        next(gen, None)


def _started(qtbot: QtBot, runtime: AgentRuntime, paths: AppPaths) -> Iterator[TrayApp]:
    """The app over ``runtime`` with the core's own alerts view, as run_tray_app wires it."""
    gen = _make(qtbot, runtime, paths)
    app = next(gen)
    app.core_started()
    yield app
    next(gen, None)


def _firing(qtbot: QtBot, runtime: AgentRuntime) -> None:
    """Wait until the core's own evaluation fires the real HighCpu rule."""
    core = runtime.manager.alerts
    assert core is not None
    qtbot.waitUntil(lambda: any(a.name == "HighCpu" for a in core.firing()), timeout=15_000)


def test_alerts_submenu_snooze_and_ack(qtbot: QtBot, alerting_runtime: AgentRuntime,
                                       paths: AppPaths) -> None:
    """The submenu lists the core's firing alert; Snooze and Acknowledge silence it in the
    core's alerting (silences in its store), not in a stand-in."""
    gen = _started(qtbot, alerting_runtime, paths)
    app = next(gen)
    try:
        core = alerting_runtime.manager.alerts
        assert core is not None and core.silences() == []
        _firing(qtbot, alerting_runtime)
        app.tray.refresh_alerts()
        qtbot.waitUntil(lambda: _labels(app.tray.alerts_menu.actions())
                        == ["HighCpu (firing)"], timeout=5000)
        sub = app.tray.alerts_menu.actions()[0].menu()
        assert sub is not None
        acts = {a.text(): a for a in sub.actions()}
        assert list(acts) == ["Snooze 15 min", "Snooze 1 h", "Acknowledge"]
        acts["Snooze 1 h"].trigger()
        qtbot.waitUntil(lambda: len(core.silences()) == 1, timeout=5000)
        acts["Acknowledge"].trigger()
        qtbot.waitUntil(lambda: len(core.silences()) == 2, timeout=5000)
        spans = sorted(round(s.ends_at - s.starts_at) for s in core.silences())
        assert spans == [3600, round(ACKNOWLEDGE_SECONDS)]
        for silence in core.silences():
            assert ("alertname", "HighCpu") in {(m.name, m.value) for m in silence.matchers}
    finally:
        next(gen, None)


def test_alert_events_notify_and_click_opens_alerts(
    qtbot: QtBot, notifying_runtime: AgentRuntime, paths: AppPaths, tmp_path: Path
) -> None:
    """A rule firing in the core notifies through the tray (the desktop action's event,
    delivered on the GUI thread); clicking opens the Alerts tab; its resolve (the rule
    reloaded so it no longer holds) is swallowed by Do not disturb."""
    gen = _started(qtbot, notifying_runtime, paths)
    app = next(gen)
    try:
        app.centre._coalesce = 0.1
        shown: list[Notification] = []
        app.notifier.shown.connect(shown.append)
        qtbot.waitUntil(lambda: bool(shown), timeout=15_000)
        note = shown[0]
        assert note.title.endswith(": firing") and "CPU > 90%" in note.title, note
        assert note.severity == 1 and note.keys[0].startswith("alert:HighCpu")
        app.tray.tray.messageClicked.emit()
        assert app.dashboard is not None
        assert app.dashboard.tabs.currentWidget() is app.dashboard.alerts_tab
        qtbot.waitUntil(lambda: app.dashboard is not None
                        and app.dashboard.alerts_tab.table.rowCount() >= 1, timeout=5000)
        app.centre.do_not_disturb = True
        (tmp_path / "rules.yml").write_text(HIGH_CPU_RULE.replace("vector(1)", "vector(1) < 0"))
        assert notifying_runtime.reload(trigger="test").ok
        # Resolved in the core, and the notification swallowed by Do not disturb.
        qtbot.waitUntil(lambda: app.centre.suppressed >= 1, timeout=15_000)
        assert notifying_runtime.manager.alerts is not None
        assert notifying_runtime.manager.alerts.firing() == []
        assert app.centre.next_due_in() is None
    finally:
        next(gen, None)


def test_open_dashboard_pauses_the_self_budget_until_closed(
    qtbot: QtBot, tray_app: TrayApp, runtime: AgentRuntime
) -> None:
    assert runtime.manager.interactive is False
    tray_app.show_dashboard("")
    assert tray_app.dashboard is not None
    assert runtime.manager.interactive is True
    tray_app.dashboard.close()
    assert runtime.manager.interactive is False

"""Notifications with actions over a private session bus and the recording notification
server: one per alert replaced in place, "Open dashboard" and "Snooze 1 h" acted on, quiet
while the server is inhibited, plain showMessage without a server."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_session import Desktop, desktop, missing_tools, wait_for
from pytestqt.qtbot import QtBot
from ui_support import running_app

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import TrayApp
from timeline_telemetry.ui.dbus_notify import DesktopNotifications

pytestmark = pytest.mark.skipif(bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools())}")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Desktop]:
    with desktop(tmp_path / "desk") as d:
        yield d


@pytest.fixture
def app(qtbot: QtBot, alerting_runtime: AgentRuntime, paths: AppPaths, session: Desktop
        ) -> Iterator[TrayApp]:
    with running_app(alerting_runtime, paths) as a:
        # no events run before the yield: nothing is notified before this is set
        a.notifier.desktop = DesktopNotifications.open(
            a.notifier.action_invoked, address=session.env["DBUS_SESSION_BUS_ADDRESS"])
        a.core_started()  # as run_tray_app does
        yield a


def _firing_key(app: TrayApp, qtbot: QtBot) -> str:
    """The key of the real HighCpu alert, once the core lists it as firing."""
    alerts = app.controller.alerts
    assert alerts is not None
    qtbot.waitUntil(lambda: any(r.state == "firing" for r in alerts.list_active()),
                    timeout=15000)
    return next(r.key for r in alerts.list_active() if r.name == "HighCpu")


def _fire(app: TrayApp, qtbot: QtBot, *, firing: bool, key: str = "cpu-high") -> None:
    with qtbot.waitSignal(app.notifier.shown, timeout=10000):
        app.controller.notify_alert(key, "HighCpu", firing=firing,
                                    summary="CPU > 90% for 5 min")


def test_alert_notification_has_actions_and_is_replaced(qtbot: QtBot, app: TrayApp,
                                                        session: Desktop) -> None:
    assert app.notifier.desktop is not None
    assert "actions" in app.notifier.desktop.capabilities
    key = _firing_key(app, qtbot)
    _fire(app, qtbot, firing=True, key=key)
    calls = session.notifications.calls
    wait_for(lambda: calls, 5, "a Notify call")
    _app, replaces, _icon, summary, _body, actions, hints, _t = calls[-1]
    assert summary == "HighCpu: firing" and replaces == 0
    assert dict(zip(actions[::2], actions[1::2], strict=True)) == {
        "default": "Open", "open": "Open dashboard", "snooze": "Snooze 1 h"}
    assert hints["urgency"] == ("y", 1)
    # the same alert resolving replaces its notification (grouped per alert)
    _fire(app, qtbot, firing=False, key=key)
    wait_for(lambda: len(calls) >= 2, 5, "the second Notify call")
    assert calls[-1][3] == "HighCpu: resolved" and calls[-1][1] == 1
    assert "snooze" not in calls[-1][5]  # nothing to snooze once resolved
    # "Snooze 1 h" snoozes the alert in the core's alerting (a silence in its store)
    core = app.runtime.manager.alerts
    assert core is not None and core.silences() == []
    session.notifications.invoke(1, "snooze")
    qtbot.waitUntil(lambda: len(core.silences()) == 1, timeout=5000)
    [silence] = core.silences()
    assert silence.ends_at - silence.starts_at == pytest.approx(3600.0)
    assert {(m.name, m.value) for m in silence.matchers} >= {("alertname", "HighCpu")}
    # "Open dashboard" opens it at the alert
    with qtbot.waitSignal(app.notifier.clicked, timeout=5000) as opened:
        session.notifications.invoke(1, "open")
    assert opened.args == [f"alert:{key}"]
    qtbot.waitUntil(lambda: app.dashboard is not None and app.dashboard.isVisible(),
                    timeout=5000)
    assert app.dashboard is not None
    assert app.dashboard.tabs.currentWidget() is app.dashboard.alerts_tab


def test_quiet_while_the_desktop_is_inhibited(qtbot: QtBot, app: TrayApp,
                                              session: Desktop) -> None:
    session.notifications.inhibited = True
    app.controller.notify_alert("disk", "DiskFull", firing=True, summary="99%")
    qtbot.waitUntil(lambda: app.notifier.inhibited == 1, timeout=10000)
    assert session.notifications.calls == []
    session.notifications.inhibited = False
    _fire(app, qtbot, firing=True)
    assert [c[3] for c in session.notifications.calls] == ["HighCpu: firing"]


def test_no_actions_without_a_server(tmp_path: Path) -> None:
    assert DesktopNotifications.open(lambda _g, _a: None, address="") is None
    missing = f"unix:path={tmp_path / 'no-bus'}"
    assert DesktopNotifications.open(lambda _g, _a: None, address=missing) is None


def test_the_action_listener_waits_without_polling_and_stops_on_close(session: Desktop
                                                                      ) -> None:
    picked: list[tuple[str, str]] = []
    desk = DesktopNotifications.open(lambda g, a: picked.append((g, a)),
                                     address=session.env["DBUS_SESSION_BUS_ADDRESS"])
    assert desk is not None
    listener = desk._thread
    try:
        nid = desk.notify("alert:disk", "DiskFull: firing", "99%", urgency=1,
                          actions=[("open", "Open")])
        session.notifications.invoke(nid, "open")  # a blocking receive still sees actions
        wait_for(lambda: picked, 5, "the action")
        assert picked == [("alert:disk", "open")]
        # idle, the thread sits in a blocking read, not a timed poll
        frame = sys._current_frames()[listener.ident or 0]
        calls = [f.line or "" for f in traceback.extract_stack(frame)]
        assert not [c for c in calls if "receive(" in c and "timeout=" in c], calls
    finally:
        desk.close()
    assert not listener.is_alive()

"""Shows the notification centre's output as native notifications.

Where the desktop's notification server offers actions (:mod:`.dbus_notify`), each alert
or check has one notification, replaced in place, with "Open dashboard" and, for an
alert, "Snooze 1 h"; nothing is shown while the server is inhibited (Do not disturb).
Elsewhere ``showMessage`` (on Linux with a StatusNotifierItem host Qt turns it into an
``org.freedesktop.Notifications.Notify`` call). Clicking opens the dashboard at the item.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from timeline_telemetry.notifications import Notification, NotificationCentre

from .dbus_notify import ACTION_OPEN, ACTION_SNOOZE, DesktopNotifications

__all__ = ["TrayNotifier"]

_ICONS = {
    0: QSystemTrayIcon.MessageIcon.Information,
    1: QSystemTrayIcon.MessageIcon.Warning,
    2: QSystemTrayIcon.MessageIcon.Critical,
}


class TrayNotifier(QObject):
    """Polls ``centre`` when something is pending and shows it on ``tray``.

    ``shown`` is emitted with each notification (tests and the Alerts/Health tabs use it);
    ``clicked`` with the key of the item the last notification was about (or whose "Open
    dashboard" was picked); ``snooze_requested`` with an alert's key ("Snooze 1 h").
    ``desktop``: the server with actions, None for ``showMessage``.
    """

    shown = Signal(object)
    clicked = Signal(str)
    snooze_requested = Signal(str)
    #: The user picked an action (emitted on the listener thread, queued to this one).
    _action = Signal(str, str)

    def __init__(self, centre: NotificationCentre, tray: QSystemTrayIcon,
                 parent: QObject | None = None, *,
                 desktop: DesktopNotifications | None = None) -> None:
        super().__init__(parent)
        self._centre = centre
        self._tray = tray
        self.desktop = desktop
        #: Notifications not shown because the desktop was in Do not disturb.
        self.inhibited = 0
        self._last_key = ""
        self._action.connect(self._on_action)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.pump)
        tray.messageClicked.connect(self._on_clicked)

    def poke(self) -> None:
        """Something was posted: check again when the coalescing window ends."""
        wait = self._centre.next_due_in()
        if wait is not None and not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 10)

    def pump(self) -> None:
        """Show whatever is due now, and re-arm for the rest."""
        note = self._centre.due()
        if note is not None:
            self._show(note)
        self.poke()

    def action_invoked(self, group: str, action: str) -> None:
        """From any thread: the user picked ``action`` on ``group``'s notification."""
        self._action.emit(group, action)

    def _on_action(self, group: str, action: str) -> None:
        if action == ACTION_SNOOZE and group.startswith("alert:"):
            self.snooze_requested.emit(group.removeprefix("alert:"))
        elif action in (ACTION_OPEN, "default"):
            self.clicked.emit(group)

    def _show(self, note: Notification) -> None:
        self._last_key = note.keys[0] if note.keys else ""
        if self.desktop is not None and self._show_with_actions(self.desktop, note):
            return
        self._tray.showMessage(note.title, note.body,
                               _ICONS.get(note.severity, _ICONS[0]), 10_000)
        self.shown.emit(note)

    def _show_with_actions(self, desktop: DesktopNotifications, note: Notification) -> bool:
        """True when handled (shown, or held back in Do not disturb)."""
        try:
            if desktop.inhibited():
                self.inhibited += 1
                return True
            group = note.keys[0] if len(note.keys) == 1 else "telemetry:changes"
            actions = [("default", "Open"), (ACTION_OPEN, "Open dashboard")]
            if group.startswith("alert:") and note.severity > 0:
                actions.append((ACTION_SNOOZE, "Snooze 1 h"))
            desktop.notify(group, note.title, note.body, urgency=note.severity,
                           actions=actions)
        except Exception:  # the server went away: plain notifications from now on
            self.desktop = None
            return False
        self.shown.emit(note)
        return True

    def _on_clicked(self) -> None:
        if self._last_key:
            self.clicked.emit(self._last_key)

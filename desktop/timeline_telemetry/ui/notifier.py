"""Shows the notification centre's output as native notifications (``showMessage``).

On Linux with a StatusNotifierItem host Qt turns ``showMessage`` into an
``org.freedesktop.Notifications.Notify`` call. Clicking opens the dashboard at the item.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from timeline_telemetry.notifications import Notification, NotificationCentre

__all__ = ["TrayNotifier"]

_ICONS = {
    0: QSystemTrayIcon.MessageIcon.Information,
    1: QSystemTrayIcon.MessageIcon.Warning,
    2: QSystemTrayIcon.MessageIcon.Critical,
}


class TrayNotifier(QObject):
    """Polls ``centre`` when something is pending and shows it on ``tray``.

    ``shown`` is emitted with each notification (tests and the Alerts/Health tabs use it);
    ``clicked`` with the key of the item the last notification was about.
    """

    shown = Signal(object)
    clicked = Signal(str)

    def __init__(self, centre: NotificationCentre, tray: QSystemTrayIcon,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._centre = centre
        self._tray = tray
        self._last_key = ""
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

    def _show(self, note: Notification) -> None:
        self._last_key = note.keys[0] if note.keys else ""
        self._tray.showMessage(note.title, note.body,
                               _ICONS.get(note.severity, _ICONS[0]), 10_000)
        self.shown.emit(note)

    def _on_clicked(self) -> None:
        if self._last_key:
            self.clicked.emit(self._last_key)

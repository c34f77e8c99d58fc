"""Signals delivered promptly under Qt's event loop, without waking it for nothing.

Python runs a signal handler only when the interpreter next runs bytecode, and while Qt's
loop waits none runs: a SIGTERM would sit unhandled until some event came. The usual cure,
a timer that enters Python twice a second, costs the tray two wake-ups a second forever.
Instead the C-level handler writes the signal's number to a socket (``signal.set_wakeup_fd``)
that Qt watches: the loop wakes exactly when a signal arrives, and Python's handler runs.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

__all__ = ["SignalWakeup"]

_log = logging.getLogger(__name__)


class SignalWakeup(QObject):
    """Wakes the Qt loop when a signal arrives; ``close`` puts the previous wake-up fd back.

    Where the wake-up fd cannot be set (not the main thread), falls back to the timer."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._old: int | None = None
        self._timer: QTimer | None = None
        self._notifier: QSocketNotifier | None = None
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        try:
            self._old = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError) as exc:
            _log.debug("no signal wake-up fd (%s): polling twice a second", exc)
            self._read.close()
            self._write.close()
            self._timer = QTimer(self)
            self._timer.timeout.connect(lambda: None)  # entering Python runs the handlers
            self._timer.start(500)
            return
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        """Empty the socket; the pending Python handlers run as this slot runs."""
        with contextlib.suppress(OSError):  # BlockingIOError once empty
            while self._read.recv(512):
                pass

    def close(self) -> None:
        """Stop watching; the previous wake-up fd (usually none) is set again."""
        if self._timer is not None:
            self._timer.stop()
            return
        if self._notifier is None:
            return
        self._notifier.setEnabled(False)
        self._notifier = None
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1 if self._old is None else self._old)
        self._read.close()
        self._write.close()

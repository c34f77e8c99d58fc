"""One instance per user: a QLocalServer named after the user; a second start pings it.

The first instance listens; a later one connects, sends ``show`` and exits, and the first
focuses its dashboard. A stale socket left by a crash is removed before listening.
"""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["SingleInstance", "server_name"]


def server_name(scope: str = "") -> str:
    """The per-user server name; ``scope`` (e.g. the data dir) separates test instances."""
    digest = hashlib.sha1(f"{getpass.getuser()}|{scope}".encode()).hexdigest()[:12]
    return f"timeline-telemetry-{digest}"


class SingleInstance(QObject):
    """``claim()`` -> True if we are the first; then ``activated`` fires on later starts."""

    activated = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server: QLocalServer | None = None

    def notify_running(self, timeout_ms: int = 500) -> bool:
        """Ask a running instance to show itself; False if none answers."""
        sock = QLocalSocket()
        sock.connectToServer(self._name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(b"show\n")
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def claim(self) -> bool:
        """Become the instance: False if another one already runs."""
        if self.notify_running():
            return False
        QLocalServer.removeServer(self._name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self._name):
            return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        if self._server is None:
            return
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            sock.disconnected.connect(sock.deleteLater)
        self.activated.emit()

    def release(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None

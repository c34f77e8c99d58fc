"""One instance per user: a QLocalServer named after the user; a second start pings it.

The first instance listens; a later one connects, sends ``show`` and exits, and the first
focuses its dashboard. A stale socket left by a crash is removed before listening.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import QByteArray, QCryptographicHash, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["SingleInstance", "server_name"]


def server_name(scope: str = "") -> str:
    """The per-user server name; ``scope`` (e.g. the data dir) separates test instances."""
    # The same SHA-1 as hashlib's, from QtCore: hashlib would map libcrypto (~3.4 MB).
    raw = QCryptographicHash.hash(QByteArray(f"{getpass.getuser()}|{scope}".encode()),
                                  QCryptographicHash.Algorithm.Sha1)
    digest = bytes(raw.toHex().data()).decode()[:12]
    return f"timeline-telemetry-{digest}"


class SingleInstance(QObject):
    """``claim()`` -> True if we are the first; then ``activated`` fires on later starts."""

    #: A later start asked to be shown; the page it named ("" = the default).
    activated = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server: QLocalServer | None = None

    def notify_running(self, timeout_ms: int = 500, *, page: str = "") -> bool:
        """Ask a running instance to show itself (at ``page``); False if none answers."""
        sock = QLocalSocket()
        sock.connectToServer(self._name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(f"show {page}".strip().encode() + b"\n")
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def claim(self, page: str = "") -> bool:
        """Become the instance: False if another one already runs (it is asked to show its
        dashboard, at ``page``)."""
        if self.notify_running(page=page):
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
            sock.readyRead.connect(self._on_ready)
            sock.disconnected.connect(sock.deleteLater)
            if sock.canReadLine():
                self._read(sock)

    def _on_ready(self) -> None:
        sock = self.sender()
        if isinstance(sock, QLocalSocket):
            self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        while sock.canReadLine():
            line = bytes(sock.readLine().data()).decode(errors="replace").strip()
            if line.split(" ", 1)[0] == "show":
                self.activated.emit(line[5:].strip())

    def release(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None

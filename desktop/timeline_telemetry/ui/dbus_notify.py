"""Desktop notifications with actions, straight over ``org.freedesktop.Notifications``
(jeepney; Qt-free). Used when the server offers ``actions``: "Open dashboard" and, for an
alert, "Snooze 1 h"; one notification per alert or check, replaced in place
(``replaces_id``); nothing is shown while the server says it is inhibited (Do not disturb,
where the desktop exposes it). Without a session bus, jeepney or the ``actions``
capability, :meth:`DesktopNotifications.open` returns None and the tray falls back to
``QSystemTrayIcon.showMessage``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ACTION_OPEN", "ACTION_SNOOZE", "DesktopNotifications"]

ACTION_OPEN = "open"
ACTION_SNOOZE = "snooze"
_NAME = "org.freedesktop.Notifications"
_PATH = "/org/freedesktop/Notifications"
_TIMEOUT_S = 2.0
_log = logging.getLogger(__name__)


class DesktopNotifications:
    """A connection to the notification server. ``on_action(group, action)`` is called on a
    listener thread when the user picks an action (``default`` is a click on the bubble)."""

    def __init__(self, conn: Any, listener: Any, caps: Sequence[str],
                 on_action: Callable[[str, str], None]) -> None:
        self._conn = conn
        self._listener = listener
        self.capabilities = tuple(caps)
        self._on_action = on_action
        self._ids: dict[str, int] = {}  # group -> the server's id (replaced in place)
        self._groups: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="tt-notify-actions",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, on_action: Callable[[str, str], None], *, address: str | None = None
             ) -> DesktopNotifications | None:
        """Connect when the server offers actions, else None (the caller falls back)."""
        address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        if not address:
            return None
        try:
            from jeepney import (  # type: ignore[import-untyped]
                DBusAddress,
                MatchRule,
                new_method_call,
            )
            from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
            from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]
        except ImportError:
            return None
        try:
            conn = open_dbus_connection(address)
        except (OSError, ValueError) as exc:
            _log.debug("no session bus for notifications: %s", exc)
            return None
        try:
            server = DBusAddress(_PATH, bus_name=_NAME, interface=_NAME)
            reply = conn.send_and_get_reply(new_method_call(server, "GetCapabilities"),
                                            timeout=_TIMEOUT_S)
            caps = list(reply.body[0]) if reply.body else []
            if "actions" not in caps:
                conn.close()
                return None
            listener = open_dbus_connection(address)
            for member in ("ActionInvoked", "NotificationClosed"):
                rule = MatchRule(type="signal", interface=_NAME, member=member, path=_PATH)
                listener.send_and_get_reply(message_bus.AddMatch(rule), timeout=_TIMEOUT_S)
        except Exception as exc:  # no server, a timeout, a refusal: plain notifications
            _log.debug("notifications without actions: %s", exc)
            conn.close()
            return None
        return cls(conn, listener, caps, on_action)

    def inhibited(self) -> bool:
        """The server's ``Inhibited`` property (Do not disturb), False where it has none."""
        from jeepney import DBusAddress, new_method_call

        props = DBusAddress(_PATH, bus_name=_NAME, interface="org.freedesktop.DBus.Properties")
        try:
            reply = self._conn.send_and_get_reply(
                new_method_call(props, "Get", "ss", (_NAME, "Inhibited")), timeout=_TIMEOUT_S)
        except Exception:  # the property is optional (spec 1.3)
            return False
        body = reply.body
        return bool(body and isinstance(body[0], tuple) and body[0][1] is True)

    def notify(self, group: str, title: str, body: str, *, urgency: int,
               actions: Sequence[tuple[str, str]], timeout_ms: int = 10_000) -> int:
        """Show (or replace ``group``'s) notification; returns the server's id."""
        from jeepney import DBusAddress, new_method_call

        server = DBusAddress(_PATH, bus_name=_NAME, interface=_NAME)
        flat = [part for key, label in actions for part in (key, label)]
        hints = {"urgency": ("y", max(0, min(2, urgency))),
                 "category": ("s", "device" if group.startswith("health:") else "presence")}
        with self._lock:
            replaces = self._ids.get(group, 0)
        reply = self._conn.send_and_get_reply(new_method_call(
            server, "Notify", "susssasa{sv}i",
            ("Timeline Telemetry", replaces, "", title, body, flat, hints, timeout_ms)),
            timeout=_TIMEOUT_S)
        nid = int(reply.body[0])
        with self._lock:
            self._ids[group] = nid
            self._groups[nid] = group
        return nid

    def _listen(self) -> None:
        # Blocks until a message arrives: no polling while idle (the tray's own CPU is part
        # of the product); close() wakes it by shutting the socket down.
        while not self._stop.is_set():
            try:
                msg = self._listener.receive()
            except Exception:  # the bus went away, or close(): no more actions
                return
            member = msg.header.fields.get(_member_field())
            if member == "ActionInvoked" and len(msg.body) == 2:
                with self._lock:
                    group = self._groups.get(int(msg.body[0]))
                if group is not None:
                    self._on_action(group, str(msg.body[1]))
            elif member == "NotificationClosed" and msg.body:
                with self._lock:
                    group = self._groups.pop(int(msg.body[0]), None)
                    if group is not None and self._ids.get(group) == int(msg.body[0]):
                        del self._ids[group]

    def close(self) -> None:
        """Stop listening and close both connections."""
        self._stop.set()
        with contextlib.suppress(OSError, AttributeError):
            self._listener.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)
        for conn in (self._conn, self._listener):
            with contextlib.suppress(OSError):
                conn.close()


def _member_field() -> Any:
    from jeepney import HeaderFields

    return HeaderFields.member

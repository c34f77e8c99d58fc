"""A throwaway Linux desktop for end-to-end tray tests: Xvfb, a private session bus, a
StatusNotifierItem watcher with a registered host, and a notification server (jeepney)
that records every ``Notify`` call. Helpers read the tray's tooltip and menu over D-Bus
exactly as a panel does."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

_SERVER = DBusAddress("/org/freedesktop/Notifications",
                      bus_name="org.freedesktop.Notifications",
                      interface="org.freedesktop.Notifications")
WATCHER = DBusAddress("/StatusNotifierWatcher", bus_name="org.kde.StatusNotifierWatcher",
                      interface="org.kde.StatusNotifierWatcher")
TOOLS = ("Xvfb", "dbus-daemon", "status-notifier-watcher")


def missing_tools() -> list[str]:
    """The binaries this session needs that are not installed."""
    return [t for t in TOOLS if shutil.which(t) is None]


def wait_for(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``cond`` until truthy (returned) or fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.05)


@dataclass
class NotificationServer:
    """Owns org.freedesktop.Notifications on the bus; ``calls`` holds each Notify body.
    ``invoke(id, action)`` emits ``ActionInvoked`` as a server does when the user picks an
    action; ``inhibited`` is what its ``Inhibited`` property (Do not disturb) says."""

    address: str
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    inhibited: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _signals: list[tuple[int, str]] = field(default_factory=list)

    def invoke(self, nid: int, action: str) -> None:
        """Emit ``ActionInvoked(nid, action)`` (from the server's own thread)."""
        self._signals.append((nid, action))

    def start(self) -> None:
        conn = open_dbus_connection(self.address)
        reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications"))
        assert reply.body == (1,), reply.body  # primary owner
        self._thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        self._thread.start()

    def _serve(self, conn: DBusConnection) -> None:
        next_id = 1
        with conn:
            while not self._stop.is_set():
                while self._signals:
                    nid, action = self._signals.pop(0)
                    conn.send(new_signal(_SERVER, "ActionInvoked", "us", (nid, action)))
                try:
                    msg = conn.receive(timeout=0.05)
                except TimeoutError:
                    continue
                if msg.header.message_type is not MessageType.method_call:
                    continue
                member = msg.header.fields.get(HeaderFields.member)
                if member == "Notify":
                    self.calls.append(tuple(msg.body))
                    conn.send(new_method_return(msg, "u", (next_id,)))
                    next_id += 1
                elif member == "GetCapabilities":
                    conn.send(new_method_return(msg, "as", (["body", "actions"],)))
                elif member == "GetServerInformation":
                    conn.send(new_method_return(msg, "ssss", ("recorder", "test", "1", "1.2")))
                elif member == "CloseNotification":
                    conn.send(new_method_return(msg))
                elif member == "Get" and tuple(msg.body) == ("org.freedesktop.Notifications",
                                                             "Inhibited"):
                    conn.send(new_method_return(msg, "v", (("b", self.inhibited),)))
                else:
                    conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


class Bus:
    """A client connection for reading the tray."""

    def __init__(self, address: str) -> None:
        self.conn = open_dbus_connection(address)

    def call(self, addr: DBusAddress, method: str, sig: str = "", body: tuple[Any, ...] = ()
             ) -> tuple[Any, ...]:
        reply = self.conn.send_and_get_reply(new_method_call(addr, method, sig, body),
                                             timeout=5)
        if reply.header.message_type is MessageType.error:
            raise RuntimeError(f"{method}: {reply.body}")
        return tuple(reply.body)

    def get_prop(self, addr: DBusAddress, iface: str, name: str) -> Any:
        props = DBusAddress(addr.object_path, bus_name=addr.bus_name,
                            interface="org.freedesktop.DBus.Properties")
        (variant,) = self.call(props, "Get", "ss", (iface, name))
        return variant[1]

    def register_host(self) -> None:
        name = f"org.kde.StatusNotifierHost-{os.getpid()}"
        self.conn.send_and_get_reply(message_bus.RequestName(name))
        self.call(WATCHER, "RegisterStatusNotifierHost", "s", (name,))

    def items(self) -> list[str]:
        return list(self.get_prop(WATCHER, "org.kde.StatusNotifierWatcher",
                                  "RegisteredStatusNotifierItems"))

    def close(self) -> None:
        self.conn.close()


def item_address(entry: str) -> DBusAddress:
    """A watcher entry (``:1.5/StatusNotifierItem`` or a bus name) as an address."""
    service, slash, path = entry.partition("/")
    return DBusAddress("/" + path if slash else "/StatusNotifierItem", bus_name=service,
                       interface="org.kde.StatusNotifierItem")


def menu_labels(layout: Any) -> list[tuple[int, str, list[Any]]]:
    """Flatten a dbusmenu layout ``(id, props, children)`` into (id, label, children)."""
    out = []
    _id, _props, children = layout
    for child in children:
        cid, cprops, grand = child[1]
        label = cprops.get("label", ("s", ""))[1]
        out.append((cid, label, grand))
    return out


def _try(call: Callable[[], object]) -> bool:
    try:
        call()
    except RuntimeError:
        return False
    return True


@dataclass
class Desktop:
    """What a test gets: the environment for the app and the bus helpers."""

    env: dict[str, str]
    bus: Bus
    notifications: NotificationServer


@contextmanager
def desktop(tmp: Path) -> Iterator[Desktop]:
    """Start Xvfb, the bus, the watcher, a host and the notification server; stop them all."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24",
                                 "-nolisten", "tcp"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        procs.append(xvfb)
        assert xvfb.stdout is not None
        display = ":" + xvfb.stdout.readline().decode().strip()
        bus_proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                     "--print-address=1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        procs.append(bus_proc)
        assert bus_proc.stdout is not None
        address = bus_proc.stdout.readline().decode().strip()
        env = {**os.environ, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": address,
               "XDG_RUNTIME_DIR": str(tmp), "QT_QPA_PLATFORM": "xcb"}
        env.pop("WAYLAND_DISPLAY", None)
        procs.append(subprocess.Popen(["status-notifier-watcher"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bus = Bus(address)
        wait_for(lambda: _has_name(bus, WATCHER.bus_name or ""), 10, "the SNI watcher")
        # The watcher owns its name a moment before it answers calls (seen on a loaded CI
        # machine: an empty error reply), so registering is retried until it answers.
        wait_for(lambda: _try(bus.register_host), 10, "the SNI watcher to take a host")
        server = NotificationServer(address)
        server.start()
        try:
            yield Desktop(env, bus, server)
        finally:
            server.stop()
            bus.close()
    finally:
        for p in reversed(procs):
            p.terminate()
            with suppress(subprocess.TimeoutExpired):
                p.wait(5)
            if p.poll() is None:
                p.kill()
                p.wait(5)
            for stream in (p.stdout, p.stderr):
                if stream is not None:
                    stream.close()


def _has_name(bus: Bus, name: str) -> bool:
    dbus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                       interface="org.freedesktop.DBus")
    (names,) = bus.call(dbus, "ListNames")
    return name in names

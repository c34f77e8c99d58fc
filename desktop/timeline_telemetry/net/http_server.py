"""A small local HTTP/1.1 server with routes, shared by /metrics, /health, the local API and the
OTLP receiver.

Requests are parsed by h11 (see :mod:`.http_connection`, which also holds the per-request
deadlines) on top of ``socketserver`` (``http.server`` would pull in ``http.client``,
``email`` and ``ssl``: 6 MB of resident memory), and four things matter for an always-on agent:

* the accept loop waits on a selector with a wake-up socket instead of polling every 0.5 s
  (``serve_forever``), so an idle server costs no wake-ups and ``shutdown`` returns at once;
* no ``socket.getfqdn`` at bind (``http.server`` does a reverse DNS lookup that can take
  seconds);
* open connections are capped (``max_connections``, as node_exporter's exporter-toolkit caps
  requests in flight), tracked, closed on shutdown, and their threads joined with a deadline;
* the last ``reserved_connections`` slots are a reserve: a connection let in there must send
  its whole head within 1 s for a reserved path (``/metrics``, ``/health``, ``/api/v1/*``) and
  is closed after one answer, and when every slot is taken a new connection displaces the
  reserve connection that has waited longest for its head (one that sent part of a head, or
  nothing for 0.1 s). So scrapes and health probes are answered while slow or stuck clients
  hold the rest;
* a connection that finds every slot taken and no reserve connection to displace (a burst of
  new connections fills the reserve faster than any of them can be judged) is not closed at
  once: it waits, without a thread, in a small triage queue (``max_connections`` long, oldest
  dropped first) for up to ``reserve_header_timeout_s``. The accept thread peeks at what
  those connections sent every 25 ms; one whose whole head asks for a reserved path takes
  the next slot that frees or reserve slot that can be displaced, one asking for another
  path is closed at once, the others at their deadline. So the order of arrival cannot
  starve a scrape: a complete head wins over any number of silent or dribbling connections.

One thread per open connection (scrapers keep one connection alive), never one per request.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .http_connection import (
    BodyErrorHandler,
    ConnectionSlot,
    HttpLimits,
    Request,
    RequestBodyTooLarge,
    Response,
    RouteHandler,
    serve_connection,
)

__all__ = [
    "DEFAULT_RESERVED_PATHS",
    "BodyErrorHandler",
    "HttpBounds",
    "LocalHttpServer",
    "PortInUseError",
    "Request",
    "RequestBodyTooLarge",
    "Response",
    "RouteHandler",
]

_log = logging.getLogger(__name__)

PROMETHEUS_PORT_SETTING = "telemetry.metrics.exporters[].Prometheus.port"
PROMETHEUS_PORT_ENV = "PROMETHEUS_PORT"
_ADDR_IN_USE = {errno.EADDRINUSE, 10048}  # 10048 = WSAEADDRINUSE (Windows)
#: Paths a reserve connection may ask for; a trailing ``*`` matches any path with that prefix.
DEFAULT_RESERVED_PATHS = ("/metrics", "/health", "/api/v1/*")
#: A reserve connection with no byte of its head yet is displaced only after this long (a
#: scraper's head arrives a moment after its connection is accepted).
_EVICTABLE_AFTER_S = 0.1
#: How often the accept thread looks at the connections waiting in triage.
_TRIAGE_POLL_S = 0.025
#: The most of a waiting connection's head that triage reads (without consuming it).
_TRIAGE_PEEK_BYTES = 8192
_ADDR_DENIED_WINDOWS = 10013  # WSAEACCES: Windows reports an exclusively-held port this way


class PortInUseError(OSError):
    """The configured port is taken; the message names the port and the setting to change."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        setting: str = PROMETHEUS_PORT_SETTING,
        env: str | None = PROMETHEUS_PORT_ENV,
    ) -> None:
        self.host = host
        self.port = port
        self.setting = setting
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        how = f"change {setting}" + (f" (or set {env})" if env else "")
        self.message = (
            f"cannot listen on {where}: port {port} is already in use by another program "
            f"(another timeline-telemetry?); {how} to a free port, or 0 to pick any free port"
        )
        super().__init__(errno.EADDRINUSE, self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class HttpBounds:
    """How long and how many, per listener (``telemetry.http`` in the config).

    * ``header_timeout_s``: a request's whole head (request line and headers) must arrive
      within this, counted from its first byte (from the accept for a new connection), not
      restarted by each byte;
    * ``min_body_rate``: bytes/s a body must keep up on average after a grace of
      ``header_timeout_s`` (0 = no minimum; each read then waits up to ``idle_timeout_s``);
    * ``idle_timeout_s``: a keep-alive connection with no request in progress closes after this;
    * ``max_connections``: open connections at most; the last ``reserved_connections`` of them
      are the reserve (see the module docstring).
    """

    header_timeout_s: float = 10.0
    min_body_rate: int = 1024
    idle_timeout_s: float = 60.0
    max_connections: int = 32
    reserved_connections: int = 4

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "idle_timeout_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be above 0, got {value}")
        if self.min_body_rate < 0:
            raise ValueError(f"min_body_rate must be 0 (off) or more, got {self.min_body_rate}")
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {self.max_connections}")
        if not 0 <= self.reserved_connections < self.max_connections:
            raise ValueError(
                f"reserved_connections must be within 0..{self.max_connections - 1} (below "
                f"max_connections), got {self.reserved_connections}")


@dataclass(frozen=True, slots=True)
class _Route:
    handler: RouteHandler
    methods: frozenset[str]


class LocalHttpServer:
    """HTTP/1.1 server on exactly ``host:port`` (port 0 = any free port, see ``bound_port``).

    Routes are exact paths (the query string is ignored for matching) and may be added before
    or after ``start``. Handlers run on the connection's thread and must be thread-safe.
    ``setting``/``env`` name the config key that sets the port, for the ``PortInUseError``.

    ``bounds`` (see :class:`HttpBounds`) limit slow and stuck clients; a reserve connection
    must send its head within ``reserve_header_timeout_s`` for one of ``reserved_paths`` (a
    trailing ``*``: any path with that prefix). Bodies over ``max_body_bytes`` are answered 413.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_body_bytes: int = 16 * 1024 * 1024,
        setting: str = PROMETHEUS_PORT_SETTING,
        env: str | None = PROMETHEUS_PORT_ENV,
        body_error: BodyErrorHandler | None = None,
        bounds: HttpBounds | None = None,
        reserved_paths: Iterable[str] = DEFAULT_RESERVED_PATHS,
        reserve_header_timeout_s: float = 1.0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be within 0-65535, got {port}")
        if not reserve_header_timeout_s > 0:
            raise ValueError(f"reserve_header_timeout_s must be above 0, got "
                             f"{reserve_header_timeout_s}")
        self.host = host
        self.port = port
        self.bounds = bounds if bounds is not None else HttpBounds()
        self.max_body_bytes = max_body_bytes
        self.reserved_paths = tuple(reserved_paths)
        self.reserve_header_timeout_s = reserve_header_timeout_s
        self._setting = setting
        self._env = env
        self.body_error = body_error
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stop = threading.Event()
        self._failure: str | None = None

    @property
    def limits(self) -> HttpLimits:
        """The per-connection bounds, as the connections see them."""
        b = self.bounds
        return HttpLimits(
            header_timeout_s=b.header_timeout_s,
            min_body_rate=b.min_body_rate,
            idle_timeout_s=b.idle_timeout_s,
            max_body_bytes=self.max_body_bytes,
            reserve_header_timeout_s=self.reserve_header_timeout_s,
        )

    # -- routes -------------------------------------------------------------------------
    def add_route(
        self, path: str, handler: RouteHandler, *, methods: Iterable[str] = ("GET", "HEAD")
    ) -> None:
        """Serve ``handler`` at ``path`` (exact match) for ``methods``."""
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': got {path!r}")
        with self._lock:
            if path in self._routes:
                raise ValueError(f"route {path!r} is already served")
            routes = dict(self._routes)
            routes[path] = _Route(handler, frozenset(m.upper() for m in methods))
            self._routes = routes  # copy-on-write: request threads read without the lock

    def remove_route(self, path: str) -> None:
        """Stop serving ``path`` (no-op if not served)."""
        with self._lock:
            routes = dict(self._routes)
            routes.pop(path, None)
            self._routes = routes

    @property
    def paths(self) -> list[str]:
        """The served paths, sorted."""
        return sorted(self._routes)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Bind and start serving; no-op if already running.

        Raises :class:`PortInUseError` if the port is taken, ``OSError`` for other bind errors
        (an address not on this machine, a privileged port).
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            server = _make_server(self)
            try:
                server.server_bind()
                server.server_activate()
                # Non-blocking accept: a client that gave up between select and accept
                # must not wedge the loop (accepted sockets get the handler's timeout).
                server.socket.setblocking(False)
            except OSError as exc:
                server.server_close()
                raise self._bind_error(exc) from exc
            self._server = server
            self._failure = None
            self._stop.clear()
            self._wake = socket.socketpair()
            self._wake[0].setblocking(False)
            self._thread = threading.Thread(
                target=self._serve, args=(server, self._wake[1]),
                name=f"telemetry-http-{self.bound_port}", daemon=True,
            )
            self._thread.start()
        _log.debug("HTTP server listening on %s (paths: %s)", self.url(), ", ".join(self.paths))

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close open connections and join every thread; idempotent."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._lock:
            server, thread, wake = self._server, self._thread, self._wake
            self._server = self._thread = self._wake = None
        if server is None:
            return
        self._stop.set()
        if wake is not None:
            with contextlib.suppress(OSError):
                wake[0].send(b"x")
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        server.server_close()
        server.close_connections(deadline)
        if wake is not None:
            for s in wake:
                s.close()

    @property
    def running(self) -> bool:
        """True while the accept loop runs."""
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def connections(self) -> int:
        """Connections open now (0 when stopped)."""
        server = self._server
        return server.open_count() if server is not None else 0

    @property
    def refused_connections(self) -> int:
        """Connections closed unserved because every slot was taken (since the start)."""
        server = self._server
        return server.refused_total if server is not None else 0

    @property
    def failure(self) -> str | None:
        """Why the accept loop died, if it did (``None`` while healthy or after a clean stop)."""
        return self._failure

    @property
    def bound_port(self) -> int:
        """The port actually bound (differs from ``port`` when that is 0)."""
        server = self._server
        if server is None:
            raise RuntimeError("the HTTP server is not started")
        return int(server.socket.getsockname()[1])

    def url(self, path: str = "") -> str:
        """``http://host:port`` + ``path`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.bound_port}{path}"

    # -- internals ----------------------------------------------------------------------
    def _bind_error(self, exc: OSError) -> OSError:
        if exc.errno in _ADDR_IN_USE or (os.name == "nt" and exc.errno == _ADDR_DENIED_WINDOWS):
            return PortInUseError(self.host, self.port, setting=self._setting, env=self._env)
        return OSError(
            exc.errno,
            f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc} "
            f"(check {self._setting} and the host setting)",
        )

    def _serve(self, server: _Server, wake: socket.socket) -> None:
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(server.socket, selectors.EVENT_READ)
                sel.register(wake, selectors.EVENT_READ)
                while not self._stop.is_set():
                    ready = sel.select(_TRIAGE_POLL_S if server.triage_waiting() else None)
                    if self._stop.is_set():
                        break
                    if any(key.fileobj is server.socket for key, _ in ready):
                        server.accept_pending()
                    server.triage()
        except Exception as exc:  # the loop must report why it died, not vanish
            self._failure = f"HTTP server stopped: {exc}"
            _log.exception("HTTP server on %s:%s died", self.host, self.port)

    # -- ConnectionHost (called on connection threads) ------------------------------------
    def body_error_response(self, status: int, message: str,
                            headers: Mapping[str, str]) -> Response:
        """The answer to a refused body: the ``body_error`` hook's, else plain text."""
        if self.body_error is not None:
            try:
                return self.body_error(status, message, headers)
            except Exception:
                _log.exception("body_error handler failed")
        return Response.text(status, message + "\n")

    def route_error(self, method: str, path: str) -> Response | None:
        """The 404 or 405 answer to ``method path``, or None when a route takes it."""
        route = self._routes.get(path)
        if route is None:
            served = ", ".join(self.paths) or "(none)"
            shown = path if len(path) <= 200 else path[:200] + "..."
            return Response.text(404, f"not found: {shown}\nserved paths: {served}\n")
        if method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            return Response.text(
                405, f"method {method} not allowed on {path} (allowed: {allowed})\n",
                ("Allow", allowed),
            )
        return None

    def is_reserved(self, path: str) -> bool:
        """Whether a reserve connection may ask for ``path``."""
        return any(path.startswith(p[:-1]) if p.endswith("*") else path == p
                   for p in self.reserved_paths)

    def dispatch(self, req: Request) -> Response:
        """Run the route's handler; a handler's exception is logged and answered 500."""
        route = self._routes.get(req.path)  # one snapshot: routes change copy-on-write
        if route is None or req.method not in route.methods:
            return self.route_error(req.method, req.path) or Response.text(
                404, f"not found: {req.path[:200]}\n")
        try:
            resp = route.handler(req)
        except Exception:
            _log.exception("handler for %s %s failed", req.method, req.path)
            return Response.text(500, "internal error (see the telemetry agent's log)\n")
        _log.debug("%s %s %s %s", req.client[0], req.method, req.path, resp.status)
        return resp


@dataclass(slots=True)
class _Open:
    slot: ConnectionSlot
    thread: threading.Thread


class _Said:
    """A warning that a flood would repeat: said the first time, then at most once every
    ``every_s`` with how many happened meanwhile (the totals stay exact)."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self.total = 0
        self._since = 0
        self._last: float | None = None

    def count(self) -> int:
        """Count one; the number since the warning was last said when it is due, else 0."""
        self.total += 1
        self._since += 1
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every_s:
            return 0
        said, self._since, self._last = self._since, 0, now
        return said


@dataclass(slots=True)
class _Waiting:
    """A connection in triage: accepted, no slot yet, no thread."""

    address: Any
    deadline: float


class _Server(socketserver.ThreadingTCPServer):
    """A threading TCP server that tracks its connection threads, caps their number and
    keeps the last slots as a reserve (see the module docstring)."""

    daemon_threads = True
    # SO_REUSEADDR lets Windows bind a port another process is listening on; keep it POSIX-only.
    allow_reuse_address = os.name != "nt"
    # A burst of connections (a flood, or many clients at once) must not overflow the backlog:
    # a dropped SYN is retried only after 1 s, too late for a scrape.
    request_queue_size = 128

    def __init__(self, owner: LocalHttpServer) -> None:
        self.owner = owner
        self._limits = owner.limits
        self._conns: dict[socket.socket, _Open] = {}
        self._conns_lock = threading.Lock()
        self._refused = _Said()
        self._evicted = _Said()
        # Touched by the accept thread only (process_request, triage, server_close).
        self._triage: dict[socket.socket, _Waiting] = {}
        super().__init__((owner.host, owner.port), socketserver.BaseRequestHandler,
                         bind_and_activate=False)

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])

    def accept_pending(self) -> None:
        """Accept every connection waiting in the backlog (the listening socket is
        non-blocking: a client that gave up between select and accept must not wedge us)."""
        while not self.owner._stop.is_set():
            try:
                sock, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of file descriptors, for one: try again later
                _log.debug("accept failed: %s", exc)
                return
            self.process_request(sock, addr)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a client hanging up mid-response is
        # routine for a metrics endpoint, so log it quietly instead.
        _log.debug("connection from %s failed", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        t, victim = self._claim(request, client_address)
        if t is None:
            self._wait_in_triage(request, client_address)
            return
        if victim is not None:
            self._close_victim(victim)
        t.start()

    def _claim(self, request: Any, client_address: Any,
               ) -> tuple[threading.Thread | None, socket.socket | None]:
        """Give ``request`` a free slot (a reserve one once the general slots are taken), or
        displace a slow reserve connection for it: the connection's (not yet started) thread
        and the displaced socket to close; ``(None, None)`` when neither is possible."""
        bounds = self.owner.bounds
        general = bounds.max_connections - bounds.reserved_connections
        with self._conns_lock:
            open_now = self._open_now()
            if len(open_now) < bounds.max_connections:
                return self._admit(request, client_address,
                                   reserve=len(open_now) >= general), None
            victim = self._displace(open_now)
            if victim is None:
                return None, None
            return self._admit(request, client_address, reserve=True), victim

    def _open_now(self) -> list[_Open]:
        """The connections holding a slot (under ``_conns_lock``)."""
        return [o for o in self._conns.values() if not (o.slot.evicted or o.slot.closing)]

    def _displace(self, open_now: list[_Open]) -> socket.socket | None:
        """Mark the reserve connection that has waited longest for its head (one that sent
        part of it, or nothing for ``_EVICTABLE_AFTER_S``) evicted and return its socket;
        None when there is none (under ``_conns_lock``)."""
        now = time.monotonic()
        waiting = [o.slot for o in open_now if o.slot.reserve and o.slot.evictable and (
            o.slot.partial or now - o.slot.accepted_at >= _EVICTABLE_AFTER_S)]
        if not waiting:
            return None
        oldest = min(waiting, key=lambda slot: slot.accepted_at)
        oldest.evicted = True
        return oldest.sock

    def _admit(self, request: Any, client_address: Any, *, reserve: bool) -> threading.Thread:
        """Give ``request`` a slot and a (not yet started) thread (under ``_conns_lock``)."""
        slot = ConnectionSlot(request, time.monotonic(), reserve=reserve)
        t = threading.Thread(
            target=self.process_request_thread, args=(request, client_address),
            name=f"telemetry-http-conn-{self.server_port}", daemon=True,
        )
        self._conns[request] = _Open(slot, t)
        return t

    def _close_victim(self, victim: socket.socket) -> None:
        with contextlib.suppress(OSError):
            victim.shutdown(socket.SHUT_RDWR)  # its thread sees the end and exits
        said = self._evicted.count()
        if said:
            _log.warning(
                "HTTP server on port %s: every connection slot is taken; closed %d slow "
                "reserve connection(s) to let new ones in (%d so far; said at most once a "
                "minute)", self.server_port, said, self._evicted.total,
            )

    # -- triage (the accept thread only) -----------------------------------------------------
    def triage_waiting(self) -> bool:
        """Whether connections wait in triage (the accept loop then wakes to look at them)."""
        return bool(self._triage)

    def _wait_in_triage(self, request: socket.socket, client_address: Any) -> None:
        """Keep a connection that found no slot for ``reserve_header_timeout_s``, dropping
        the oldest waiting one when the queue is full."""
        bounds = self.owner.bounds
        self.triage()  # a waiting head may be complete already: judge before dropping one
        if len(self._triage) >= bounds.max_connections:
            oldest = next(iter(self._triage))  # dicts keep insertion order: oldest first
            self._refuse(oldest)
        try:
            request.setblocking(False)
        except OSError:
            self._refuse(request)
            return
        self._triage[request] = _Waiting(
            client_address, time.monotonic() + self.owner.reserve_header_timeout_s)

    def triage(self) -> None:
        """Look at every waiting connection once: a whole head for a reserved path takes a
        reserve slot that can be displaced (or keeps waiting for one), a connection past its
        deadline, gone, or asking for anything else is closed."""
        if not self._triage:
            return
        now = time.monotonic()
        for sock, waiting in list(self._triage.items()):
            try:
                head = sock.recv(_TRIAGE_PEEK_BYTES, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                head = None  # nothing sent yet
            except OSError:
                head = b""
            if head == b"":
                self._refuse(sock)
                continue
            end = -1 if head is None else head.find(b"\r\n\r\n")
            if head is None or end < 0:
                if now >= waiting.deadline or (head is not None
                                               and len(head) >= _TRIAGE_PEEK_BYTES):
                    self._refuse(sock)
                continue
            if not self._asks_for_reserved(head[:end]):
                self._refuse(sock)
                continue
            # A slot freed meanwhile, or a slow reserve connection to displace.
            t, victim = self._claim(sock, waiting.address)
            if t is None:
                if now >= waiting.deadline:
                    self._refuse(sock)
                continue  # every reserve connection is busy answering: wait for one
            del self._triage[sock]
            with contextlib.suppress(OSError):
                sock.setblocking(True)
            if victim is not None:
                self._close_victim(victim)
            t.start()

    def _asks_for_reserved(self, head: bytes) -> bool:
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3:
            return False
        target = parts[1].decode("latin-1")
        return self.owner.is_reserved(target.partition("?")[0])

    def _refuse(self, request: socket.socket) -> None:
        """Close a connection that gets no slot (and log, now and then, that it happens)."""
        if self._triage.pop(request, None) is not None:
            with contextlib.suppress(OSError):  # what triage peeked at: a close with unread
                request.recv(_TRIAGE_PEEK_BYTES)  # data would reset instead of ending it
        said = self._refused.count()
        if said:
            _log.warning(
                "HTTP server on port %s: %d connections already open; refused %d more (%d "
                "so far; said at most once a minute)", self.server_port,
                self.owner.bounds.max_connections, said, self._refused.total,
            )
        self.shutdown_request(request)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            entry = self._conns.get(request)
        if entry is None:
            return
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        serve_connection(request, (str(client_address[0]), int(client_address[1])),
                         self.owner, self._limits, entry.slot)

    @property
    def refused_total(self) -> int:
        """Connections refused so far (each one counted; the warning is rate limited)."""
        return self._refused.total

    def open_count(self) -> int:
        """Open connections, not counting those being closed (evicted, or finished)."""
        with self._conns_lock:
            return sum(1 for o in self._conns.values()
                       if not (o.slot.evicted or o.slot.closing))

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.pop(request, None)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        waiting, self._triage = self._triage, {}
        for sock in waiting:
            with contextlib.suppress(OSError):
                sock.close()

    def close_connections(self, deadline: float) -> None:
        """End keep-alive connections: stop reading (an in-flight response still goes out),
        join their threads until ``deadline``, then cut whatever is left."""
        for how in (socket.SHUT_RD, socket.SHUT_RDWR):
            with self._conns_lock:
                conns = list(self._conns.items())
            if not conns:
                return
            for sock, _ in conns:
                with contextlib.suppress(OSError):
                    sock.shutdown(how)
            for _, entry in conns:
                remaining = deadline - time.monotonic()
                if how == socket.SHUT_RD:
                    remaining /= 2
                if entry.thread is not threading.current_thread():
                    entry.thread.join(max(0.0, remaining))


def _make_server(owner: LocalHttpServer) -> _Server:
    if ":" in owner.host:
        return _Server6(owner)
    return _Server(owner)


class _Server6(_Server):
    address_family = socket.AF_INET6

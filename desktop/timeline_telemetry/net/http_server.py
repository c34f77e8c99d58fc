"""A small local HTTP/1.1 server with routes, shared by /metrics and (later) /health.

Built on ``socketserver`` with its own request parsing (``http.server`` would pull in
``http.client``, ``email`` and ``ssl``: 6 MB of resident memory), and three things that
matter for an always-on agent:

* the accept loop waits on a selector with a wake-up socket instead of polling every 0.5 s
  (``serve_forever``), so an idle server costs no wake-ups and ``shutdown`` returns at once;
* no ``socket.getfqdn`` at bind (``http.server`` does a reverse DNS lookup that can take
  seconds);
* open keep-alive connections are tracked, capped, and closed on shutdown, and their threads
  joined with a deadline, so nothing is left running.

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
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

__all__ = [
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
_MAX_DRAIN_BYTES = 64 * 1024 * 1024
_MAX_DRAIN_SECONDS = 2.0
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


class RequestBodyTooLarge(Exception):
    """A request body exceeded the server's ``max_body_bytes`` (answered with 413)."""


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request as a route handler sees it. Header names are lower-case; repeated
    headers are joined with ``", "`` (RFC 9110 list semantics)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = b""
    client: tuple[str, int] = ("", 0)

    def header(self, name: str, default: str = "") -> str:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True, slots=True)
class Response:
    """What a handler returns. ``Content-Length`` is always set by the server."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def text(cls, status: int, text: str, *headers: tuple[str, str]) -> Response:
        """A short ``text/plain`` response."""
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8", tuple(headers))


RouteHandler = Callable[[Request], Response]
#: Builds the response to a body the server refused before routing: (status 400 or 413,
#: message, the request's lower-case headers) -> Response (an OTLP receiver answers with a
#: ``google.rpc.Status``, for instance).
BodyErrorHandler = Callable[[int, str, Mapping[str, str]], Response]


@dataclass(frozen=True, slots=True)
class _Route:
    handler: RouteHandler
    methods: frozenset[str]


class LocalHttpServer:
    """HTTP/1.1 server on exactly ``host:port`` (port 0 = any free port, see ``bound_port``).

    Routes are exact paths (the query string is ignored for matching) and may be added before
    or after ``start``. Handlers run on the connection's thread and must be thread-safe.
    ``setting``/``env`` name the config key that sets the port, for the ``PortInUseError``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        idle_timeout_s: float = 60.0,
        max_connections: int = 32,
        max_body_bytes: int = 16 * 1024 * 1024,
        setting: str = PROMETHEUS_PORT_SETTING,
        env: str | None = PROMETHEUS_PORT_ENV,
        body_error: BodyErrorHandler | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be within 0-65535, got {port}")
        self.host = host
        self.port = port
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.max_body_bytes = max_body_bytes
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
                    ready = sel.select()
                    if self._stop.is_set():
                        break
                    if any(key.fileobj is server.socket for key, _ in ready):
                        server.handle_request()  # the socket is readable: accepts at once
        except Exception as exc:  # the loop must report why it died, not vanish
            self._failure = f"HTTP server stopped: {exc}"
            _log.exception("HTTP server on %s:%s died", self.host, self.port)

    def _body_error(self, status: int, message: str, headers: Mapping[str, str]) -> Response:
        if self.body_error is not None:
            try:
                return self.body_error(status, message, headers)
            except Exception:
                _log.exception("body_error handler failed")
        return Response.text(status, message + "\n")

    def _dispatch(self, req: Request) -> Response:
        route = self._routes.get(req.path)
        if route is None:
            served = ", ".join(self.paths) or "(none)"
            shown = req.path if len(req.path) <= 200 else req.path[:200] + "..."
            return Response.text(404, f"not found: {shown}\nserved paths: {served}\n")
        if req.method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            return Response.text(
                405, f"method {req.method} not allowed on {req.path} (allowed: {allowed})\n",
                ("Allow", allowed),
            )
        try:
            return route.handler(req)
        except Exception:
            _log.exception("handler for %s %s failed", req.method, req.path)
            return Response.text(500, "internal error (see the telemetry agent's log)\n")


class _Server(socketserver.ThreadingTCPServer):
    """A threading TCP server that tracks its connection threads and caps their number."""

    daemon_threads = True
    # SO_REUSEADDR lets Windows bind a port another process is listening on; keep it POSIX-only.
    allow_reuse_address = os.name != "nt"

    def __init__(self, owner: LocalHttpServer) -> None:
        self.owner = owner
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._conns_lock = threading.Lock()
        self._refused = 0
        super().__init__((owner.host, owner.port), _Handler, bind_and_activate=False)

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a client hanging up mid-response is
        # routine for a metrics endpoint, so log it quietly instead.
        _log.debug("connection from %s failed", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            if len(self._conns) >= self.owner.max_connections:
                self._refused += 1
                if self._refused == 1 or self._refused % 100 == 0:
                    _log.warning(
                        "HTTP server on port %s: %d connections already open; refusing more "
                        "(%d refused so far)", self.server_port, len(self._conns), self._refused,
                    )
                refuse = True
            else:
                refuse = False
                t = threading.Thread(
                    target=self.process_request_thread, args=(request, client_address),
                    name=f"telemetry-http-conn-{self.server_port}", daemon=True,
                )
                self._conns[request] = t
        if refuse:
            self.shutdown_request(request)
            return
        t.start()

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.pop(request, None)
        super().shutdown_request(request)

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
            for _, t in conns:
                remaining = deadline - time.monotonic()
                if how == socket.SHUT_RD:
                    remaining /= 2
                if t is not threading.current_thread():
                    t.join(max(0.0, remaining))


def _make_server(owner: LocalHttpServer) -> _Server:
    if ":" in owner.host:
        return _Server6(owner)
    return _Server(owner)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _BadRequest(Exception):
    """A request the server answers with ``status`` and then closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(socketserver.StreamRequestHandler):
    """One connection: requests are read and answered in turn until either side closes.

    The request head is parsed here rather than by ``http.server``: that module pulls in
    ``http.client``, ``email`` and ``ssl`` (about 6 MB of the agent's resident memory, for
    a server that only ever speaks plain HTTP on loopback).
    """

    server: _Server
    # Headers and body go out in one write, and Nagle stays off so a response never waits
    # ~40 ms for the scraper's delayed ACK (found by bench/bench_scrape.py).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.owner.idle_timeout_s)  # idle keep-alives end

    def handle(self) -> None:
        owner = self.server.owner
        client = (str(self.client_address[0]), int(self.client_address[1]))
        while True:
            try:
                head = _read_head(self.rfile)
            except _BadRequest as exc:
                with contextlib.suppress(OSError):
                    self._send(Response.text(exc.status, f"{exc}\n"), head_only=False,
                               close=True)
                return
            except (OSError, ValueError):  # idle timeout, reset, or the socket shut down
                return
            if head is None:  # the client closed the connection between requests
                return
            method, target, version, headers = head
            close = _wants_close(version, headers)
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                body = _read_body(self.rfile, headers, owner.max_body_bytes)
            except RequestBodyTooLarge:
                self._send(owner._body_error(
                    413, f"request body larger than {owner.max_body_bytes} bytes", headers
                ), head_only=method == "HEAD", close=True)
                self._drain_unread(headers)
                return
            except (ValueError, OSError) as exc:
                with contextlib.suppress(OSError):
                    self._send(owner._body_error(400, f"bad request body: {exc}", headers),
                               head_only=method == "HEAD", close=True)
                return
            if target.startswith(("http://", "https://")):  # absolute-form (proxies send it)
                split = urllib.parse.urlsplit(target)
                path, query = split.path, split.query
            else:
                path, _, query = target.partition("?")
            req = Request(method, path or "/", query, headers, body, client)
            self._send(owner._dispatch(req), head_only=method == "HEAD", close=close)
            _log.debug("%s %s %s", client[0], method, path)
            if close:
                return

    def _send(self, resp: Response, *, head_only: bool, close: bool) -> None:
        lines = [
            f"HTTP/1.1 {resp.status} {_reason(resp.status)}",
            "Server: timeline-telemetry",
            f"Date: {_http_date(time.time())}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
            "X-Content-Type-Options: nosniff",
        ]
        lines.extend(f"{name}: {value}" for name, value in resp.headers)
        if close:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head_only and resp.body:
            data += resp.body
        self.wfile.write(data)

    def _drain_unread(self, headers: Mapping[str, str]) -> None:
        """After refusing a too-large body, read (and discard) what the client is still
        sending, for a bounded time and size: closing a socket with unread data makes the
        kernel send a reset, and the client would see "connection reset" instead of the 413."""
        raw = headers.get("content-length", "").strip()
        budget = min(int(raw), _MAX_DRAIN_BYTES) if raw.isdigit() else _MAX_DRAIN_BYTES
        deadline = time.monotonic() + _MAX_DRAIN_SECONDS
        with contextlib.suppress(OSError, ValueError):
            self.connection.settimeout(_MAX_DRAIN_SECONDS)
            while budget > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(65536, budget))
                if not chunk:
                    break
                budget -= len(chunk)


_Head = tuple[str, str, str, dict[str, str]]


def _read_head(rfile: Any) -> _Head | None:
    """The request line and headers, or ``None`` at a clean end of the connection.

    Raises :class:`_BadRequest` for what RFC 9112 says to refuse: a malformed request line
    or header field, obsolete line folding, an unsupported version, or a head over the limits.
    """
    line = rfile.readline(_MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
        line = rfile.readline(_MAX_LINE + 1)
    if not line:
        return None
    if len(line) > _MAX_LINE:
        raise _BadRequest(414, "request line too long")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/"):
            raise _BadRequest(505, f"HTTP version {version[5:]!r} not supported (use 1.1)")
        raise _BadRequest(400, "malformed request line")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        raw = rfile.readline(_MAX_LINE + 1)
        if not raw:
            raise OSError("connection closed inside the request head")
        if raw in (b"\r\n", b"\n"):
            return method, target, version, headers
        if len(raw) > _MAX_LINE:
            raise _BadRequest(431, "header line too long")
        text = raw.decode("latin-1").rstrip("\r\n")
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip() or text[0] in " \t":
            raise _BadRequest(400, "malformed header field")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise _BadRequest(431, f"more than {_MAX_HEADERS} header fields")


def _wants_close(version: str, headers: Mapping[str, str]) -> bool:
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" not in tokens
    return "close" in tokens


def _read_body(rfile: Any, headers: Mapping[str, str], limit: int) -> bytes:
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].strip().lower() != "chunked":
            raise ValueError(f"Transfer-Encoding {headers['transfer-encoding']!r} (only "
                             "chunked is accepted)")
        return _read_chunked(rfile, limit)
    raw = headers.get("content-length", "").strip()
    if not raw:
        return b""
    if not raw.isdigit():
        raise ValueError(f"Content-Length {raw!r} is not a number")
    length = int(raw)
    if length > limit:
        raise RequestBodyTooLarge(length)
    body: bytes = rfile.read(length)
    if len(body) != length:
        raise ValueError("connection closed before the whole body arrived")
    return body


def _read_chunked(rfile: Any, limit: int) -> bytes:
    """Read a ``Transfer-Encoding: chunked`` body (Node's OTLP exporters send these)."""
    out = bytearray()
    while True:
        line = rfile.readline(1024)
        if not line.endswith(b"\n"):
            raise ValueError("truncated chunk header")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text!r}") from None
        if size == 0:
            while rfile.readline(1024).strip():  # trailers, up to the blank line
                pass
            return bytes(out)
        if len(out) + size > limit:
            raise RequestBodyTooLarge(len(out) + size)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise ValueError("connection closed inside a chunk")
        out += chunk
        rfile.readline(16)  # the CRLF after the chunk data


_MAX_LINE = 65536
_MAX_HEADERS = 100
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date(ts: float) -> str:
    """IMF-fixdate (RFC 9110 5.6.7), spelled out so the process locale cannot change it."""
    t = time.gmtime(ts)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

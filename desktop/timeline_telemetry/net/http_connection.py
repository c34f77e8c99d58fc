"""One HTTP/1.1 connection of :class:`~.http_server.LocalHttpServer`, parsed by h11.

h11 (a small, pure-Python HTTP/1.1 state machine) does the framing: request line and header
syntax, strict chunk sizes, Content-Length checks, keep-alive and pipelining. This module adds
what an always-on agent facing any local process needs on top, each with a deadline rather than
a per-read timeout (a timeout that restarts on every byte is the slowloris bug):

* the whole request head must arrive within ``header_timeout_s`` (1 s on a reserve slot);
* a body must keep up ``min_body_rate`` bytes/s on average after a grace of
  ``header_timeout_s``;
* an idle keep-alive connection ends after ``idle_timeout_s``;
* a head over ``max_head_bytes`` is answered 431 (414 for the request line alone), more than
  ``max_header_fields`` fields 431, Content-Length together with Transfer-Encoding 400 (RFC 9112
  6.1), obsolete line folding 400, an HTTP version other than 1.0/1.1 505;
* ``100 Continue`` goes out only for a body that would be accepted (route and method exist,
  declared length within ``max_body_bytes``); otherwise the final status is sent at once.

Every refusal ends the connection: the answer goes out with ``Connection: close``, the write
side is shut, and what the client still sends is read and dropped for a bounded time, so the
client sees the answer instead of a reset. Pipelined requests after a refused one are never
answered.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Protocol

import h11

__all__ = [
    "BodyErrorHandler",
    "ConnectionSlot",
    "HttpLimits",
    "Request",
    "RequestBodyTooLarge",
    "Response",
    "RouteHandler",
    "serve_connection",
]

_RECV_BYTES = 65536
_LINGER_BYTES = 64 * 1024 * 1024
_LINGER_SECONDS = 2.0
_MAX_WAIT_S = 3600.0
_BLANK_LINE = re.compile(rb"\n\r?\n")
_OBS_FOLD = re.compile(rb"\n[ \t]")


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
#: Builds the response to a body the server refused before routing: (status 400, 408 or 413,
#: message, the request's lower-case headers) -> Response (an OTLP receiver answers with a
#: ``google.rpc.Status``, for instance).
BodyErrorHandler = Callable[[int, str, Mapping[str, str]], Response]


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The bounds of one listener's connections (see the module docstring).

    ``min_body_rate`` 0 turns the body rate check off (each read then waits up to
    ``idle_timeout_s``).
    """

    header_timeout_s: float = 10.0
    min_body_rate: int = 1024
    idle_timeout_s: float = 60.0
    max_body_bytes: int = 16 * 1024 * 1024
    reserve_header_timeout_s: float = 1.0
    max_head_bytes: int = 64 * 1024
    max_header_fields: int = 100


@dataclass(slots=True)
class ConnectionSlot:
    """The server's record of one open connection (shared with the accept thread).

    ``reserve``: the connection was let in on a reserved slot, so it gets one quick request for
    a reserved path. ``evictable``: it is still waiting for its head (or lingering after a
    refusal), so a new connection may displace it when every slot is taken; ``partial``: part
    of its head has arrived (a client that sends a head at once is never seen so). ``closing``: its
    last answer is going out; it no longer counts against the cap (its client may reconnect
    before this thread has finished).
    """

    sock: socket.socket
    accepted_at: float
    reserve: bool = False
    evictable: bool = True
    evicted: bool = False
    closing: bool = False
    partial: bool = False


class ConnectionHost(Protocol):
    """What a connection needs from its server."""

    def route_error(self, method: str, path: str) -> Response | None:
        """The 404/405 answer for ``method path``, or None if a route would take it."""

    def dispatch(self, req: Request) -> Response:
        """Run the route's handler (never raises)."""

    def body_error_response(self, status: int, message: str,
                            headers: Mapping[str, str]) -> Response:
        """The answer to a refused body (never raises)."""

    def is_reserved(self, path: str) -> bool:
        """Whether ``path`` may be served on a reserve slot."""


class _Refusal(Exception):
    """Answer ``status`` and close. ``body`` errors go through the server's body_error."""

    def __init__(self, status: int, message: str, *, body: bool = False,
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers = headers


def serve_connection(sock: socket.socket, client: tuple[str, int], host: ConnectionHost,
                     limits: HttpLimits, slot: ConnectionSlot) -> None:
    """Read and answer requests on ``sock`` until either side closes or a bound is hit.

    Runs on the connection's own thread; the caller closes the socket afterwards.
    """
    _Connection(sock, client, host, limits, slot).serve()


class _Connection:
    def __init__(self, sock: socket.socket, client: tuple[str, int], host: ConnectionHost,
                 limits: HttpLimits, slot: ConnectionSlot) -> None:
        self.sock = sock
        self.client = client
        self.host = host
        self.limits = limits
        self.slot = slot
        self.h11 = self._new_h11(b"", closed=False)
        self.headers: dict[str, str] = {}
        self.method = "GET"

    def _new_h11(self, leftover: bytes, *, closed: bool) -> h11.Connection:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        self._started = False  # has a byte of the next request (not a blank line) arrived?
        self._pending = bytearray()  # the next request's raw bytes, for the checks h11 skips
        if leftover:
            self._feed(conn, leftover)
        if closed:
            conn.receive_data(b"")
        return conn

    def _feed(self, conn: h11.Connection, data: bytes) -> None:
        """Pass received bytes to h11 (``b""``, the end of the stream, is passed as such)."""
        if not data:
            conn.receive_data(b"")
            return
        if not self._started:
            data = data.lstrip(b"\r\n")  # RFC 9112 2.2: ignore empty lines before a request
            if not data:
                return
            self._started = True
        if len(self._pending) <= self.limits.max_head_bytes:
            self._pending += data
        conn.receive_data(data)

    # -- the request loop ---------------------------------------------------------------
    def serve(self) -> None:
        try:
            self._serve()
        finally:
            self.slot.closing = True

    def _serve(self) -> None:
        first = True
        while True:
            self.headers, self.method = {}, "GET"
            try:
                keep_open = self._one_request(first)
            except _Refusal as exc:
                self._refuse(exc)
                return
            except OSError:  # reset, or the socket shut down by the server
                return
            if not keep_open:
                return
            first = False
            data, closed = self.h11.trailing_data
            self.h11 = self._new_h11(bytes(data), closed=closed)

    def _one_request(self, first: bool) -> bool:
        event = self._read_head(first)
        if event is None:
            return False
        self.slot.evictable = False
        self.method = event.method.decode("ascii", "replace")
        self.headers = _header_dict(event.headers)
        path, query = _split_target(event.target.decode("latin-1"))
        self._check_head(event, path)
        declared = self.headers.get("content-length")
        if declared is not None and int(declared) > self.limits.max_body_bytes:
            raise _Refusal(413, f"request body larger than {self.limits.max_body_bytes} bytes",
                           body=True)
        if self.h11.they_are_waiting_for_100_continue:
            refused = self.host.route_error(self.method, path)
            if refused is not None:
                self._send(refused, close=True)
                self._linger()
                return False
            self._write(self.h11.send(h11.InformationalResponse(
                status_code=100, headers=[], reason=b"Continue")))
        body = self._read_body()
        if body is None:
            return False
        req = Request(self.method, path or "/", query, self.headers, body, self.client)
        close = self.slot.reserve
        resp = self.host.dispatch(req)
        if close or _wants_close(event):
            self.slot.closing = True
        self._send(resp, close=close)
        return not close and self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def _read_head(self, first: bool) -> h11.Request | None:
        lim = self.limits
        head_s = min(lim.header_timeout_s, lim.reserve_header_timeout_s) if self.slot.reserve \
            else lim.header_timeout_s
        # A new connection must send its whole head within head_s of being accepted; between
        # keep-alive requests the idle timeout runs until the next request's first byte.
        start: float | None = self.slot.accepted_at if first else (
            time.monotonic() if self._started else None)
        idle_until = time.monotonic() + lim.idle_timeout_s
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise self._protocol_refusal(exc) from None
            if event is h11.NEED_DATA:
                until = idle_until if start is None else start + head_s
                data = self._recv(until)
                if data is None:
                    if not self._started:
                        return None  # nothing of a request arrived: close quietly
                    raise _Refusal(408, f"request headers not complete within {head_s:g} s")
                self._feed(self.h11, data)
                self._check_head_size()
                if self._started:
                    self.slot.partial = True
                    if start is None:
                        start = time.monotonic()
                continue
            if isinstance(event, h11.Request):
                return event
            return None  # ConnectionClosed

    def _check_head(self, event: h11.Request, path: str) -> None:
        if event.http_version not in (b"1.0", b"1.1"):
            version = event.http_version.decode("ascii", "replace")
            raise _Refusal(505, f"HTTP version {version!r} not supported (use 1.1)")
        if len(event.headers) > self.limits.max_header_fields:
            raise _Refusal(431, f"more than {self.limits.max_header_fields} header fields")
        end = _BLANK_LINE.search(self._pending)
        if _OBS_FOLD.search(self._pending, 0, end.start() + 1 if end else len(self._pending)):
            raise _Refusal(400, "obsolete line folding in the header section (RFC 9112 5.2)")
        if "content-length" in self.headers and "transfer-encoding" in self.headers:
            raise _Refusal(400, "Content-Length together with Transfer-Encoding "
                                "(RFC 9112 6.1); send one of them")
        if self.slot.reserve and not self.host.is_reserved(path):
            raise _Refusal(503, "the server is busy: every connection slot is taken; only the "
                                "metrics, health and API paths are answered until some close",
                           headers=(("Retry-After", "1"),))

    def _read_body(self) -> bytes | None:
        lim = self.limits
        body = bytearray()
        started = time.monotonic()
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Refusal(400, f"bad request body: {str(exc)[:200]}", body=True) from None
            if event is h11.NEED_DATA:
                if lim.min_body_rate > 0:
                    until = started + lim.header_timeout_s + len(body) / lim.min_body_rate
                else:
                    until = time.monotonic() + lim.idle_timeout_s
                data = self._recv(until)
                if data is None:
                    raise _Refusal(408, f"request body arrived slower than {lim.min_body_rate} "
                                        "bytes/s", body=True)
                self.h11.receive_data(data)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > lim.max_body_bytes:
                    raise _Refusal(413, f"request body larger than {lim.max_body_bytes} bytes",
                                   body=True)
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:  # ConnectionClosed
                return None

    # -- socket I/O ---------------------------------------------------------------------
    def _recv(self, until: float) -> bytes | None:
        """Up to 64 KiB; ``b""`` at the end of the stream, None once ``until`` has passed."""
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(min(remaining, _MAX_WAIT_S))  # a huge timeout overflows
            try:
                return self.sock.recv(_RECV_BYTES)
            except TimeoutError:
                continue
            except OSError:
                return b""

    def _write(self, data: bytes) -> None:
        self.sock.settimeout(min(self.limits.idle_timeout_s, _MAX_WAIT_S))
        self.sock.sendall(data)

    def _send(self, resp: Response, *, close: bool) -> None:
        """Headers and body in one write (Nagle is off: no ~40 ms wait for a delayed ACK)."""
        headers = [
            ("Server", "timeline-telemetry"),
            ("Date", _http_date(time.time())),
            ("Content-Type", resp.content_type),
            ("Content-Length", str(len(resp.body))),
            ("X-Content-Type-Options", "nosniff"),
            *resp.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        conn = self.h11
        try:
            data = conn.send(h11.Response(status_code=resp.status, headers=headers,
                                          reason=_reason(resp.status).encode("ascii"))) or b""
            if resp.body and self.method != "HEAD":
                data += conn.send(h11.Data(data=resp.body)) or b""
            data += conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:  # a handler's header h11 refuses to write
            if resp.status == 500:
                raise OSError(f"cannot write the response: {exc}") from None
            self.h11 = conn = self._new_h11(b"", closed=False)
            self._send(Response.text(500, f"internal error: bad response ({exc})\n"), close=True)
            return
        self._write(data)

    def _refuse(self, exc: _Refusal) -> None:
        msg = str(exc)
        if exc.body:
            resp = self.host.body_error_response(exc.status, msg, self.headers)
        else:
            resp = Response.text(exc.status, msg + "\n", *exc.headers)
        with contextlib.suppress(OSError):
            if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                self._send(resp, close=True)
            self._linger()

    def _linger(self) -> None:
        """Shut our side and drop what the client still sends, for a bounded time and size:
        closing with unread data makes the kernel send a reset, and the client would see
        "connection reset" instead of our answer."""
        self.slot.evictable = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            until = time.monotonic() + _LINGER_SECONDS
            budget = _LINGER_BYTES
            while budget > 0:
                data = self._recv(until)
                if not data:
                    break
                budget -= len(data)

    def _check_head_size(self) -> None:
        """h11 bounds a head only while it is incomplete; one that arrives whole in a read
        must be bounded too."""
        limit = self.limits.max_head_bytes
        if len(self._pending) > limit and not _BLANK_LINE.search(self._pending, 0, limit):
            raise self._too_long()

    def _too_long(self) -> _Refusal:
        limit = self.limits.max_head_bytes
        if b"\n" not in self._pending[:limit]:
            return _Refusal(414, f"request line longer than {limit} bytes")
        return _Refusal(431, f"request header section larger than {limit} bytes")

    def _protocol_refusal(self, exc: h11.RemoteProtocolError) -> _Refusal:
        if exc.error_status_hint == 431:
            return self._too_long()
        text = str(exc)  # h11 quotes the offending bytes: keep the echo short
        return _Refusal(exc.error_status_hint,
                        f"bad request: {text if len(text) <= 200 else text[:200] + '...'}")


def _header_dict(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("ascii")
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _wants_close(event: h11.Request) -> bool:
    if event.http_version != b"1.1":
        return True  # h11 keeps no HTTP/1.0 connection alive
    return any(name == b"connection" and b"close" in value.lower()
               for name, value in event.headers)


def _split_target(target: str) -> tuple[str, str]:
    if target.startswith(("http://", "https://")):  # absolute-form (proxies send it)
        split = urllib.parse.urlsplit(target)
        return split.path, split.query
    path, _, query = target.partition("?")
    return path, query


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

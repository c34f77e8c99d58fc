"""A real OTLP/HTTP receiver for tests: stdlib HTTP server + opentelemetry-proto decoding.

It stands in for a Collector or Jaeger (none is installable here) and records every
request it got, decoded with the official classes. ``stop()`` then ``start()`` brings it
back on the same port, to test an upstream that goes away and returns.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def wait_until(cond: Callable[[], object], *, timeout: float = 10.0, what: str = "condition",
               interval: float = 0.01) -> None:
    """Poll ``cond`` until truthy, failing after ``timeout`` seconds (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        event.wait(interval)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw_body: bytes
    traces: ExportTraceServiceRequest | None = None
    logs: ExportLogsServiceRequest | None = None


@dataclass
class UpstreamReceiver:
    """Accepts POST /v1/traces and /v1/logs; answers ``status`` (200 by default)."""

    host: str = "127.0.0.1"
    port: int = 0
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                data = gzip.decompress(body) if self.headers.get(
                    "Content-Encoding") == "gzip" else body
                rec = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path == "/v1/traces":
                    rec.traces = ExportTraceServiceRequest.FromString(data)
                elif self.path == "/v1/logs":
                    rec.logs = ExportLogsServiceRequest.FromString(data)
                status = owner.status
                if status == 200:
                    with owner._lock:
                        owner.requests.append(rec)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        server = _Server((self.host, self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()  # a stopped collector drops its keep-alive connections
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def spans(self) -> list[tuple[str, str]]:
        """(service.name, span name) of every span received."""
        out: list[tuple[str, str]] = []
        with self._lock:
            reqs = list(self.requests)
        for r in reqs:
            if r.traces is None:
                continue
            for rs in r.traces.resource_spans:
                svc = next((kv.value.string_value for kv in rs.resource.attributes
                            if kv.key == "service.name"), "")
                for ss in rs.scope_spans:
                    out.extend((svc, s.name) for s in ss.spans)
        return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def process_request(self, request: object, client_address: object) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)  # type: ignore[arg-type]
        super().process_request(request, client_address)  # type: ignore[arg-type]

    def shutdown_request(self, request: object) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)  # type: ignore[arg-type]
        super().shutdown_request(request)  # type: ignore[arg-type]

    def close_connections(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

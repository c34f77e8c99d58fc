"""HTTP attacks on both of a running agent's listeners (in-process ``AgentRuntime``, 127.0.0.1,
ports 0): the Prometheus one (/metrics, /health, /api/v1/*) and the OTLP receiver (/v1/*).

Groups: a malformed-HTTP corpus (request lines, header names and values, folding, sizes, NUL
bytes, HTTP/0.9 and 2.0, Content-Length and chunk-size edge cases, smuggling with a pipelined
request), 100-continue for bodies that will not be accepted, a slow body below the minimum
rate, and slowloris on both ports while /metrics, /health and /api/v1/status must each answer
within 1 s. After each group: the agent alive, /metrics answering within 1 s, an OTLP request
accepted, no traceback logged and no thread died. Bounded in count and time (~30 s in all).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from attack_support import Tracebacks, watched_runtime

from support import wait_for
from timeline_telemetry.export.prometheus import PrometheusExporter
from timeline_telemetry.net.http_server import HttpBounds, LocalHttpServer
from timeline_telemetry.runtime import AgentRuntime

HEADER_TIMEOUT_S = 5.0
HTTP = {"header_timeout": "5s", "min_body_rate_bytes": 1024, "idle_timeout": "30s",
        "max_connections": 24, "reserved_connections": 4}
OTLP_MAX_BODY = 65536
SPAN = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    "name": "ok", "kind": 1, "startTimeUnixNano": "1700000000000000000",
    "endTimeUnixNano": "1700000000500000000"}]}]}]}).encode()


class Agent:
    """The running agent's two listeners and what went wrong so far."""

    def __init__(self, runtime: AgentRuntime, errors: Tracebacks,
                 thread_errors: list[threading.ExceptHookArgs]) -> None:
        prom = next(e for e in runtime.manager.exporters if isinstance(e, PrometheusExporter))
        receiver = runtime.manager.receiver
        assert receiver is not None
        self.prom: LocalHttpServer = prom.server
        self.otlp: LocalHttpServer = receiver.server
        self.errors = errors
        self.thread_errors = thread_errors

    def port(self, listener: str) -> int:
        return (self.prom if listener == "metrics" else self.otlp).bound_port

    def alive(self) -> None:
        """/metrics within 1 s, an OTLP span taken, nothing logged with a traceback."""
        status, elapsed, body = request(self.prom.bound_port, "GET", "/metrics", timeout=1.0)
        assert status == 200 and b"# TYPE" in body and elapsed < 1.0
        status, _, _ = request(self.otlp.bound_port, "POST", "/v1/traces", SPAN)
        assert status == 200
        assert self.prom.running and self.otlp.running
        assert not [r.getMessage() for r in self.errors.records], "tracebacks were logged"
        assert not self.thread_errors, "a thread died"


def request(port: int, method: str, path: str, body: bytes = b"", *, timeout: float = 10.0
            ) -> tuple[int, float, bytes]:
    """One request on a fresh connection: (status, seconds, body); status 0 if none came."""
    start = time.monotonic()
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    reply = exchange(port, head + body, timeout=timeout)
    elapsed = time.monotonic() - start
    if not reply.startswith(b"HTTP/1.1 "):
        return 0, elapsed, reply
    return int(reply[9:12]), elapsed, reply.partition(b"\r\n\r\n")[2]


def exchange(port: int, raw: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``raw`` on a fresh connection and read until the server closes it (or
    ``timeout``: the server must close it by then)."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):  # it may answer and close before reading it all
            s.sendall(raw)
        reply = b""
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                raise AssertionError(f"the server kept the connection open past {timeout} s "
                                     f"(got {reply[:80]!r})") from None
            except ConnectionResetError:
                break
            if not chunk:
                break
            reply += chunk
    return reply


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    tmp = tmp_path_factory.mktemp("http-attacks")
    with watched_runtime(tmp, {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0, "max_body_bytes": OTLP_MAX_BODY}},
        "health": {"check_interval": "1s", "checks": []},
        "alerts": {"enabled": False},
        "http": HTTP,
    }) as (rt, errors, thread_errors):
        yield Agent(rt, errors, thread_errors)


@pytest.fixture(autouse=True)
def after_each_group(agent: Agent) -> Iterator[None]:
    yield
    agent.alive()


def test_telemetry_http_reaches_both_listeners(agent: Agent) -> None:
    expected = HttpBounds(header_timeout_s=5.0, min_body_rate=1024, idle_timeout_s=30.0,
                          max_connections=24, reserved_connections=4)
    assert agent.prom.bounds == expected
    assert agent.otlp.bounds == expected
    assert agent.prom.is_reserved("/metrics") and agent.prom.is_reserved("/api/v1/status")


H = b"Host: x\r\n"
POST = b"POST /v1/traces HTTP/1.1\r\n" + H
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"

#: (name, raw request, the one status it must get). Every one ends the connection.
CORPUS: list[tuple[str, bytes, int]] = [
    # request lines
    ("http-0.9", b"GET /metrics\r\n\r\n", 400),
    ("tls-client-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32, 400),
    ("two-spaces", b"GET  /metrics HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("extra-token", b"GET /metrics HTTP/1.1 x\r\n" + H + b"\r\n", 400),
    ("lower-case-version", b"GET /metrics http/1.1\r\n" + H + b"\r\n", 400),
    ("bad-method-char", b"G(T /metrics HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("nul-in-target", b"GET /met\x00rics HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("http-2.0", b"GET /metrics HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("http-3.7", b"GET /metrics HTTP/3.7\r\n" + H + b"\r\n", 505),
    ("no-host", b"GET /metrics HTTP/1.1\r\n\r\n", 400),
    ("huge-request-line", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    # header fields
    ("space-in-name", b"GET /metrics HTTP/1.1\r\n" + H + b"Bad Name: x\r\n\r\n", 400),
    ("space-before-colon", POST + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    ("ctl-in-name", b"GET /metrics HTTP/1.1\r\n" + H + b"X\x01Y: z\r\n\r\n", 400),
    ("empty-name", b"GET /metrics HTTP/1.1\r\n" + H + b": value\r\n\r\n", 400),
    ("no-colon", b"GET /metrics HTTP/1.1\r\n" + H + b"no colon here\r\n\r\n", 400),
    ("nul-in-value", b"GET /metrics HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    ("cr-in-value", b"GET /metrics HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400),
    ("obs-fold", b"GET /metrics HTTP/1.1\r\n" + H + b"X-A: one\r\n two\r\n\r\n", 400),
    ("fold-at-start", b"GET /metrics HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    ("huge-header", b"GET /metrics HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 100_000
     + b"\r\n\r\n", 431),
    ("many-headers", b"GET /metrics HTTP/1.1\r\n" + H
     + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
    # Content-Length
    ("cl-absurd", POST + b"Content-Length: 99999999999999999999\r\n\r\n", 413),
    ("cl-too-many-digits", POST + b"Content-Length: " + b"9" * 30 + b"\r\n\r\n", 400),
    ("cl-negative", POST + b"Content-Length: -1\r\n\r\n", 400),
    ("cl-hex", POST + b"Content-Length: 0x10\r\n\r\n", 400),
    ("cl-plus", POST + b"Content-Length: +5\r\n\r\n", 400),
    ("cl-conflict", POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("cl-list", POST + b"Content-Length: 5, 6\r\n\r\nhello!", 400),
    # chunk sizes (h11 takes 1 to 20 hex digits, nothing else)
    ("chunk-negative", CHUNKED + b"-1\r\n" + b"x" * 1000, 400),
    ("chunk-hex-prefix", CHUNKED + b"0x3\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk-underscore", CHUNKED + b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", 400),
    ("chunk-plus", CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-overflow", CHUNKED + b"1" + b"0" * 20 + b"\r\n" + b"x" * 1000, 400),
    ("chunk-empty-size", CHUNKED + b"\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-missing-crlf", CHUNKED + b"5\r\nhelloXX0\r\n\r\n", 400),
    # transfer codings h11 does not implement (RFC 9112 6.1: 501)
    ("te-gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    ("te-chunked-twice", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te-two-fields", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
     b"\r\n0\r\n\r\n", 501),
    # smuggling: CL with TE, a request pipelined after it must not be answered
    ("cl-te", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
     b"GET /metrics HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("te-cl", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"
     b"GET /metrics HTTP/1.1\r\n" + H + b"\r\n", 400),
]


@pytest.mark.parametrize("listener", ["metrics", "otlp"])
def test_malformed_http_is_refused_and_the_connection_closed(agent: Agent,
                                                              listener: str) -> None:
    port = agent.port(listener)
    wrong = []
    for name, raw, status in CORPUS:
        reply = exchange(port, raw)
        got = reply[:12]
        if not reply.startswith(b"HTTP/1.1 %d " % status):
            wrong.append(f"{name}: expected {status}, got {got!r}")
        elif reply.count(b"\r\nServer: timeline-telemetry\r\n") != 1:
            wrong.append(f"{name}: more than one response: {reply!r}")
        elif b"\r\nConnection: close\r\n" not in reply:
            wrong.append(f"{name}: no Connection: close")
    assert not wrong, "\n".join(wrong)


def test_a_huge_declared_chunk_is_cut_at_max_body_bytes(agent: Agent) -> None:
    """``ffffffffffffffff`` is a legal chunk size: what bounds it is ``max_body_bytes``."""
    reply = exchange(agent.otlp.bound_port,
                     CHUNKED + b"ffffffffffffffff\r\n" + b"x" * (OTLP_MAX_BODY + 4096))
    assert reply.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize(
    ("listener", "head", "status"),
    [
        ("otlp", POST + b"Content-Length: 99999999\r\n", 413),
        ("otlp", b"POST /v1/nope HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n", 404),
        ("metrics", b"POST /metrics HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n", 405),
        ("metrics", b"PUT /nope HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n", 404),
    ],
)
def test_no_100_continue_for_a_body_that_will_not_be_accepted(
    agent: Agent, listener: str, head: bytes, status: int
) -> None:
    reply = exchange(agent.port(listener), head + b"Expect: 100-continue\r\n\r\n", timeout=5)
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:60]
    assert b"100 Continue" not in reply


def test_100_continue_for_a_body_that_will_be_accepted(agent: Agent) -> None:
    with socket.create_connection(("127.0.0.1", agent.otlp.bound_port), timeout=10) as s:
        s.sendall(POST + b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n" % len(SPAN))
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(SPAN)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")


def test_a_body_below_the_minimum_rate_is_cut(agent: Agent) -> None:
    """1 KiB/s after a grace of header_timeout (5 s): 100 B/s is cut at about 5.1 s."""
    with socket.create_connection(("127.0.0.1", agent.otlp.bound_port), timeout=10) as s:
        s.sendall(POST + b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n")
        start = time.monotonic()
        sent = 0
        s.settimeout(0.1)
        reply = b""
        while time.monotonic() - start < HEADER_TIMEOUT_S + 5:
            try:
                s.sendall(b"x" * 10)
                sent += 10
            except OSError:
                break
            try:  # 10 bytes per 0.1 s; stop at the server's answer
                reply = s.recv(65536)
                break
            except TimeoutError:
                continue
        s.settimeout(10)
        while chunk := s.recv(65536):
            reply += chunk
        elapsed = time.monotonic() - start
    assert reply.startswith(b"HTTP/1.1 408 "), reply[:80]
    assert HEADER_TIMEOUT_S <= elapsed < HEADER_TIMEOUT_S + 2
    assert sent < 2000


class Slowloris:
    """``count`` connections to ``port``, each sending one more byte of a head that never
    ends every ``interval`` s; a connection the server closed is opened again on the next
    round. Records how long each connection lived."""

    HEAD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000

    def __init__(self, port: int, count: int, interval: float = 0.5) -> None:
        self.port = port
        self.interval = interval
        self.socks: list[tuple[socket.socket, float, int] | None] = [None] * count
        self.lifetimes: list[float] = []
        self.connects = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for i, held in enumerate(self.socks):
                if held is None:
                    try:
                        s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                        s.setblocking(False)
                    except OSError:
                        continue
                    self.connects += 1
                    held = (s, time.monotonic(), 0)  # noqa: PLW2901
                s, born, sent = held
                try:
                    s.send(self.HEAD[sent:sent + 1])
                    self.socks[i] = (s, born, sent + 1)
                except OSError:  # closed by the server (after its 408, or refused)
                    self.lifetimes.append(time.monotonic() - born)
                    s.close()
                    self.socks[i] = None
            self.stop.wait(self.interval)  # the attack's pace, not synchronisation

    def __enter__(self) -> Slowloris:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        for entry in self.socks:
            if entry is not None:
                entry[0].close()


@pytest.mark.slow
def test_slowloris_on_both_ports_leaves_metrics_health_and_api_answering(agent: Agent) -> None:
    """100 slow connections on the metrics port and 40 on the OTLP port for 15 s: every
    probe of /metrics, /health and /api/v1/status answers within 1 s, and no slow connection
    outlives the header deadline (plus the 2 s linger and one round) however it dribbles."""
    port = agent.prom.bound_port
    worst: dict[str, float] = {}
    failures: list[str] = []
    with Slowloris(port, 100) as prom_attack, Slowloris(agent.otlp.bound_port, 40) as otlp:
        wait_for(lambda: agent.prom.connections >= 20, timeout=5,
                 what="the attack to fill the general slots")
        end = time.monotonic() + 15
        pace = threading.Event()
        held = 0
        while time.monotonic() < end:
            held = max(held, agent.prom.connections)
            for path in ("/metrics", "/health", "/api/v1/status"):
                try:
                    status, elapsed, _ = request(port, "GET", path, timeout=1.0)
                except (AssertionError, OSError) as exc:
                    failures.append(f"{path}: {exc}")
                    continue
                worst[path] = max(worst.get(path, 0.0), elapsed)
                if status not in (200, 503) or (path == "/metrics" and status != 200):
                    failures.append(f"{path}: status {status}")
            pace.wait(0.2)  # pacing the probes, not synchronisation
    assert not failures, failures[:10]
    assert max(worst.values()) < 1.0, worst
    assert held >= 20  # the attack really held the general slots (24 - 4 reserved)
    limit = HEADER_TIMEOUT_S + 2 + 1.5
    assert prom_attack.lifetimes and max(prom_attack.lifetimes) < limit
    assert otlp.lifetimes and max(otlp.lifetimes) < limit
    assert prom_attack.connects > 100  # cut connections were opened again
    wait_for(lambda: agent.prom.connections + agent.otlp.connections == 0, timeout=10,
             what="every attack connection to be closed")

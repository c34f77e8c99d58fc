"""LocalHttpServer: routes, errors, binding and a clean shutdown, over real sockets."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from support import get, wait_for
from timeline_telemetry.net.http_server import (
    HttpBounds,
    LocalHttpServer,
    PortInUseError,
    Request,
    Response,
)


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    srv = LocalHttpServer("127.0.0.1", 0)
    yield srv
    srv.shutdown(5)


def echo(req: Request) -> Response:
    text = f"{req.method} {req.path} q={req.query} ua={req.header('User-Agent')} n={len(req.body)}"
    return Response.text(200, text, ("X-Echo", "1"))


def test_routes_query_and_headers(server: LocalHttpServer) -> None:
    server.add_route("/echo", echo)
    server.start()
    status, headers, body = get(server.url("/echo?a=1"), {"User-Agent": "probe"})
    assert status == 200
    assert body == b"GET /echo q=a=1 ua=probe n=0"
    assert headers["x-echo"] == "1"
    assert headers["content-length"] == str(len(body))


def test_unknown_path_is_404_listing_served_paths(server: LocalHttpServer) -> None:
    server.add_route("/metrics", echo)
    server.add_route("/health", echo)
    server.start()
    status, _, body = get(server.url("/nope"))
    assert status == 404
    assert body.decode() == "not found: /nope\nserved paths: /health, /metrics\n"


def test_routes_added_after_start_are_served(server: LocalHttpServer) -> None:
    server.start()
    assert get(server.url("/late"))[0] == 404
    server.add_route("/late", echo)
    assert get(server.url("/late"))[0] == 200
    server.remove_route("/late")
    assert get(server.url("/late"))[0] == 404


def test_wrong_method_is_405_with_allow(server: LocalHttpServer) -> None:
    server.add_route("/metrics", echo)
    server.start()
    status, headers, _ = get(server.url("/metrics"), method="POST", data=b"x")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


def test_head_sends_length_but_no_body(server: LocalHttpServer) -> None:
    server.add_route("/echo", echo)
    server.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.bound_port, timeout=10)
    try:
        conn.request("HEAD", "/echo")
        r = conn.getresponse()
        assert r.status == 200
        assert int(r.headers["Content-Length"]) == len(b"HEAD /echo q= ua= n=0")
        assert r.read() == b""
        # The same keep-alive connection still works afterwards.
        conn.request("GET", "/echo")
        assert conn.getresponse().read() == b"GET /echo q= ua= n=0"
    finally:
        conn.close()


def test_chunked_request_body_is_read(server: LocalHttpServer) -> None:
    server.add_route("/ingest", echo, methods=("POST",))
    server.start()
    reply = _exchange(
        server.bound_port,
        b"POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"POST /ingest q= ua= n=11")


def test_body_over_the_limit_is_413() -> None:
    srv = LocalHttpServer("127.0.0.1", 0, max_body_bytes=10)
    srv.add_route("/ingest", echo, methods=("POST",))
    srv.start()
    try:
        status, _, body = get(srv.url("/ingest"), method="POST", data=b"x" * 11)
    finally:
        srv.shutdown(5)
    assert status == 413 and b"10 bytes" in body


def test_handler_error_is_500_and_server_keeps_serving(server: LocalHttpServer) -> None:
    def boom(req: Request) -> Response:
        raise RuntimeError("bug")

    server.add_route("/boom", boom)
    server.add_route("/echo", echo)
    server.start()
    assert get(server.url("/boom"))[0] == 500
    assert get(server.url("/echo"))[0] == 200


def test_port_in_use_names_port_and_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = LocalHttpServer("127.0.0.1", port)
        with pytest.raises(PortInUseError) as info:
            srv.start()
    msg = str(info.value)
    assert f"127.0.0.1:{port}" in msg
    assert "telemetry.metrics.exporters[].Prometheus.port" in msg
    assert "PROMETHEUS_PORT" in msg
    assert "\n" not in msg
    assert isinstance(info.value, OSError)
    assert not srv.running


def test_binds_exactly_the_configured_host(server: LocalHttpServer) -> None:
    server.start()
    assert server._server is not None
    assert server._server.socket.getsockname()[0] == "127.0.0.1"


def test_other_bind_errors_are_clear_oserrors() -> None:
    srv = LocalHttpServer("192.0.2.1", 0)  # TEST-NET-1: not an address of this machine
    with pytest.raises(OSError, match=r"cannot listen on 192\.0\.2\.1:0") as info:
        srv.start()
    assert not isinstance(info.value, PortInUseError)


def test_shutdown_closes_keepalive_connections_and_joins_threads(
    server: LocalHttpServer,
) -> None:
    server.add_route("/echo", echo)
    server.start()
    before = {t.ident for t in threading.enumerate()}
    conns = [http.client.HTTPConnection("127.0.0.1", server.bound_port, timeout=10)
             for _ in range(3)]
    for c in conns:
        c.request("GET", "/echo")
        assert c.getresponse().read()
    extra = [t for t in threading.enumerate() if t.ident not in before]
    assert len(extra) == 3  # one thread per open keep-alive connection, none per request
    server.shutdown(5)
    assert not server.running
    assert all(not t.is_alive() for t in extra)
    for c in conns:
        c.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(conns[0].port)), timeout=2).close()


def test_connection_cap_refuses_extra_connections() -> None:
    srv = LocalHttpServer(
        "127.0.0.1", 0, bounds=HttpBounds(max_connections=1, reserved_connections=0))
    srv.add_route("/echo", echo)
    srv.start()
    first = http.client.HTTPConnection("127.0.0.1", srv.bound_port, timeout=10)
    second = http.client.HTTPConnection("127.0.0.1", srv.bound_port, timeout=10)
    try:
        first.request("GET", "/echo")
        assert first.getresponse().read()
        second.request("GET", "/echo")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            second.getresponse()
    finally:
        first.close()
        second.close()
        srv.shutdown(5)


def test_shutdown_is_idempotent_and_restart_works() -> None:
    srv = LocalHttpServer("127.0.0.1", 0)
    srv.add_route("/echo", echo)
    srv.shutdown(1)  # never started
    srv.start()
    srv.start()  # already running: no-op
    srv.shutdown(5)
    srv.shutdown(5)
    srv.start()
    try:
        assert get(srv.url("/echo"))[0] == 200
    finally:
        srv.shutdown(5)


def test_a_client_hanging_up_mid_request_does_not_hurt(server: LocalHttpServer) -> None:
    server.add_route("/echo", echo)
    server.start()
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=10) as s:
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Le")
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=10) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
    assert get(server.url("/echo"))[0] == 200


def test_ipv6_loopback_host() -> None:
    srv = LocalHttpServer("::1", 0)
    srv.add_route("/echo", echo)
    try:
        srv.start()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert srv.url("/echo").startswith("http://[::1]:")
        assert get(srv.url("/echo"))[0] == 200
    finally:
        srv.shutdown(5)


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return reply


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /echo HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
        (b"GET /echo HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET /echo HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n", b"400"),
        (b"GET /echo HTTP/1.1\r\nName : space before colon\r\n\r\n", b"400"),
        (b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(100))
         + b"\r\n", b"431"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"GET /echo HTTP/1.1\r\n\r\n", b"400"),  # RFC 9112 3.2: Host is mandatory
    ],
)
def test_malformed_requests_are_refused_and_closed(
    server: LocalHttpServer, raw: bytes, status: bytes
) -> None:
    server.add_route("/echo", echo, methods=("GET", "POST"))
    server.start()
    reply = _exchange(server.bound_port, raw)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:80]
    assert b"\r\nConnection: close\r\n" in reply
    assert get(server.url("/echo"))[0] == 200  # and the server keeps serving


def test_http10_is_answered_and_closed(server: LocalHttpServer) -> None:
    """h11 keeps no HTTP/1.0 connection alive (RFC 9112 9.3 lets a server close any time);
    an HTTP/1.0 client, with or without ``Connection: keep-alive``, just reconnects."""
    server.add_route("/echo", echo)
    server.start()
    for extra in (b"", b"Connection: keep-alive\r\n"):
        reply = _exchange(server.bound_port, b"GET /echo HTTP/1.0\r\n" + extra + b"\r\n" * 2)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"GET /echo q= ua= n=0")
        assert reply.count(b"HTTP/1.1 200 OK") == 1


def test_pipelined_requests_on_one_connection_are_answered_in_order(
    server: LocalHttpServer,
) -> None:
    server.add_route("/echo", echo, methods=("GET", "POST"))
    server.start()
    reply = _exchange(
        server.bound_port,
        b"\r\nGET /echo?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /echo?b=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    bodies = [part.split(b"\r\n\r\n", 1)[1][:40] for part in reply.split(b"HTTP/1.1 ")[1:]]
    assert [b.split(b" ua=")[0] for b in bodies] == [
        b"GET /echo q=a=1", b"POST /echo q=", b"GET /echo q=b=2"
    ]


def test_expect_100_continue_gets_an_interim_response(server: LocalHttpServer) -> None:
    server.add_route("/ingest", echo, methods=("POST",))
    server.start()
    with socket.create_connection(("127.0.0.1", server.bound_port), timeout=10) as s:
        s.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(4096)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits for this (1 s)
        s.sendall(b"hello")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"n=5")


def test_responses_carry_a_locale_independent_date(server: LocalHttpServer) -> None:
    import email.utils

    server.add_route("/echo", echo)
    server.start()
    _, headers, _ = get(server.url("/echo"))
    assert email.utils.parsedate_to_datetime(headers["date"]).tzname() == "UTC"
    assert headers["server"] == "timeline-telemetry"


def test_serving_does_not_import_http_client_or_ssl() -> None:
    """http.server would pull in http.client, email and ssl: ~6 MB of an agent's RSS."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from timeline_telemetry.net.http_server import LocalHttpServer\n"
        "from timeline_telemetry.net.http_server import Response\n"
        "s = LocalHttpServer('127.0.0.1', 0); s.add_route('/x', lambda r: Response()); s.start()\n"
        "import socket\n"
        "c = socket.create_connection(('127.0.0.1', s.bound_port)); "
        "c.sendall(b'GET /x HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
        "assert c.recv(100).startswith(b'HTTP/1.1 200'); s.shutdown(5)\n"
        "print(sorted(m for m in ('http.client', 'ssl', 'email', 'http.server') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_flood_of_refused_connections_is_counted_and_said_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    srv = LocalHttpServer(
        "127.0.0.1", 0, bounds=HttpBounds(max_connections=1, reserved_connections=0))
    srv.add_route("/echo", echo)
    srv.start()
    held = http.client.HTTPConnection("127.0.0.1", srv.bound_port, timeout=10)
    try:
        held.request("GET", "/echo")
        assert held.getresponse().read()  # the one slot stays taken (keep-alive)
        with caplog.at_level("WARNING", logger="timeline_telemetry.net.http_server"):
            for _ in range(120):
                extra = http.client.HTTPConnection("127.0.0.1", srv.bound_port, timeout=10)
                try:
                    extra.request("GET", "/echo")
                    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                        extra.getresponse()
                finally:
                    extra.close()
            wait_for(lambda: srv.refused_connections == 120, timeout=10,
                     what="120 refusals counted")
        said = [m for m in (r.getMessage() for r in caplog.records)
                if "connections already open" in m]
        assert len(said) == 1, said  # not one line per refusal, nor one per hundred
        assert "refused 1 more (1 so far" in said[0]
    finally:
        held.close()
        srv.shutdown(5)

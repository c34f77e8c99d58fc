"""One connection's bounds (net/http_connection.py): deadlines, 100-continue, CL with TE, and
the reserve slots, over real sockets on 127.0.0.1 with short bounds so each test is quick."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from support import get, wait_for
from timeline_telemetry.net import http_server
from timeline_telemetry.net.http_server import HttpBounds, LocalHttpServer, Request, Response


def echo(req: Request) -> Response:
    return Response.text(200, f"{req.method} {req.path} n={len(req.body)}")


def _server(bounds: HttpBounds, *, max_body_bytes: int = 16 * 1024 * 1024,
            reserve_header_timeout_s: float = 1.0) -> LocalHttpServer:
    srv = LocalHttpServer("127.0.0.1", 0, bounds=bounds, max_body_bytes=max_body_bytes,
                          reserve_header_timeout_s=reserve_header_timeout_s)
    srv.add_route("/echo", echo, methods=("GET", "POST"))
    srv.add_route("/metrics", echo)
    srv.start()
    return srv


@pytest.fixture
def quick() -> Iterator[LocalHttpServer]:
    """Head within 0.5 s, bodies at 1 KiB/s after that grace, idle keep-alive 0.5 s."""
    srv = _server(HttpBounds(header_timeout_s=0.5, min_body_rate=1024, idle_timeout_s=0.5,
                             max_connections=8, reserved_connections=2),
                  max_body_bytes=4096)
    yield srv
    srv.shutdown(5)


def _connect(srv: LocalHttpServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.bound_port), timeout=10)


def _read_all(s: socket.socket) -> bytes:
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    return reply


def _dribble(s: socket.socket, data: bytes, interval: float) -> bool:
    """Send ``data`` a byte at a time; False once the server has closed the connection."""
    for i in range(len(data)):
        try:
            s.sendall(data[i:i + 1])
        except OSError:
            return False
        s.settimeout(interval)
        try:  # wait for the pace, or stop at the server's answer (or its end)
            s.recv(1, socket.MSG_PEEK)
            return False
        except TimeoutError:
            pass
        except OSError:
            return False
        finally:
            s.settimeout(10)
    return True


def test_a_dribbled_head_is_cut_at_the_header_deadline(quick: LocalHttpServer) -> None:
    """The deadline is for the whole head: a byte every 0.1 s does not restart it."""
    with _connect(quick) as s:
        start = time.monotonic()
        finished = _dribble(s, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40, 0.1)
        reply = _read_all(s)
        elapsed = time.monotonic() - start
    assert not finished
    assert reply.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in reply
    assert b"not complete within 0.5 s" in reply
    assert elapsed < 3
    assert get(quick.url("/echo"))[0] == 200


def test_a_new_connection_that_says_nothing_is_closed_quietly(quick: LocalHttpServer) -> None:
    with _connect(quick) as s:
        assert _read_all(s) == b""  # closed at the header deadline, no answer to nothing
    wait_for(lambda: quick.connections == 0, timeout=5, what="the slot to be freed")


def test_an_idle_keep_alive_connection_closes(quick: LocalHttpServer) -> None:
    with _connect(quick) as s:
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = _read_all(s)  # the answer, then the end after the 0.5 s idle timeout
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"n=0")


def test_a_body_below_the_minimum_rate_is_cut(quick: LocalHttpServer) -> None:
    with _connect(quick) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n")
        start = time.monotonic()
        finished = _dribble(s, b"x" * 3000, 0.02)  # ~50 B/s, far below 1 KiB/s
        reply = _read_all(s)
    assert not finished
    assert reply.startswith(b"HTTP/1.1 408 ") and b"slower than 1024 bytes/s" in reply
    assert time.monotonic() - start < 3


def test_a_body_at_a_fair_rate_is_read(quick: LocalHttpServer) -> None:
    with _connect(quick) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                  b"Connection: close\r\n\r\n")
        for _ in range(10):  # 100 bytes every 0.05 s: ~2 KiB/s
            s.sendall(b"y" * 100)
            time.sleep(0.05)  # pacing the sender, not synchronisation
        assert _read_all(s).endswith(b"POST /echo n=1000")


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n", b"404"),
        (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n", b"405"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n", b"413"),
    ],
)
def test_100_continue_only_for_a_body_that_would_be_accepted(
    quick: LocalHttpServer, head: bytes, status: bytes
) -> None:
    with _connect(quick) as s:
        s.sendall(head + b"Expect: 100-continue\r\n\r\n")
        reply = _read_all(s)  # the final answer at once, and the end: no body is waited for
    assert reply.startswith(b"HTTP/1.1 " + status + b" "), reply[:60]
    assert b"100 Continue" not in reply and b"Connection: close" in reply


def test_content_length_with_transfer_encoding_is_400_and_closes(
    quick: LocalHttpServer,
) -> None:
    with _connect(quick) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                  b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = _read_all(s)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"RFC 9112 6.1" in reply
    assert reply.count(b"HTTP/1.1 ") == 1  # the pipelined GET is not answered


def _reserve_server() -> LocalHttpServer:
    """Three slots: two general, one reserve; heads within 5 s, reserve heads within 0.3 s."""
    return _server(HttpBounds(header_timeout_s=5, max_connections=3, reserved_connections=1),
                   reserve_header_timeout_s=0.3)


def _hold(srv: LocalHttpServer, n: int) -> list[socket.socket]:
    """``n`` connections that started a head and stopped (a slowloris client)."""
    held = []
    for _ in range(n):
        s = _connect(srv)
        s.sendall(b"GET /echo HTTP/1.1\r\n")
        held.append(s)
    wait_for(lambda: srv.connections >= n, timeout=5, what=f"{n} open connections")
    return held


def test_the_reserve_answers_metrics_while_the_general_slots_are_held() -> None:
    srv = _reserve_server()
    held = _hold(srv, 2)
    try:
        for _ in range(3):
            start = time.monotonic()
            status, headers, body = get(srv.url("/metrics"))
            assert status == 200 and body == b"GET /metrics n=0"
            assert headers["connection"] == "close"  # one request per reserve connection
            assert time.monotonic() - start < 1
        status, headers, body = get(srv.url("/echo"))  # not a reserved path
        assert status == 503 and headers["retry-after"] == "1"
    finally:
        for s in held:
            s.close()
        srv.shutdown(5)


def test_a_slow_reserve_connection_is_closed_and_the_reserve_reused() -> None:
    srv = _reserve_server()
    held = _hold(srv, 2)
    try:
        with _connect(srv) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            reply = _read_all(s)
        assert reply.startswith(b"HTTP/1.1 408 ") and b"within 0.3 s" in reply
        assert get(srv.url("/metrics"))[0] == 200
    finally:
        for s in held:
            s.close()
        srv.shutdown(5)


def test_when_every_slot_is_taken_a_new_connection_displaces_a_waiting_reserve_one() -> None:
    srv = _server(HttpBounds(header_timeout_s=5, max_connections=3, reserved_connections=1),
                  reserve_header_timeout_s=3)
    held = _hold(srv, 3)  # the third holds the reserve, waiting for its head
    try:
        inner = srv._server
        assert inner is not None
        wait_for(lambda: all(o.slot.partial for o in inner._conns.values()),
                 timeout=5, what="the held heads to be read")
        start = time.monotonic()
        assert get(srv.url("/metrics"))[0] == 200
        assert time.monotonic() - start < 1
        held[2].settimeout(5)
        assert held[2].recv(100) == b""  # the displaced one was closed
    finally:
        for s in held:
            s.close()
        srv.shutdown(5)


def _silent(srv: LocalHttpServer, n: int, *, open_before: int) -> list[socket.socket]:
    """``n`` connections that send nothing (a burst that fills the reserve)."""
    held = [_connect(srv) for _ in range(n)]
    wait_for(lambda: srv.connections >= open_before + n, timeout=5,
             what=f"{open_before + n} open connections")
    return held


def test_a_scrape_behind_a_burst_of_fresh_connections_waits_in_triage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every slot taken, the reserve by connections too new to be displaced: a scrape is not
    closed at once (as it was) but waits without a thread until a reserve slot can be
    displaced, then is answered."""
    monkeypatch.setattr(http_server, "_EVICTABLE_AFTER_S", 0.5)
    srv = _server(HttpBounds(header_timeout_s=5, max_connections=4, reserved_connections=2),
                  reserve_header_timeout_s=3)
    held = _hold(srv, 2)
    held += _silent(srv, 2, open_before=2)  # the reserve, silent and not yet displaceable
    try:
        start = time.monotonic()
        status, _, body = get(srv.url("/metrics"))
        assert status == 200 and body == b"GET /metrics n=0"
        assert time.monotonic() - start < 2
        assert _closed(held[2])  # the oldest silent reserve connection made room
        assert time.monotonic() - start < 2.5  # displaced, not timed out (3 s)
    finally:
        for s in held:
            s.close()
        srv.shutdown(5)


def _closed(s: socket.socket) -> bool:
    """Whether the server ended ``s`` (within 5 s)."""
    s.settimeout(5)
    try:
        return _read_all(s) == b""
    except ConnectionResetError:
        return True


def test_triage_admits_a_scrape_when_a_slot_frees_and_closes_the_rest() -> None:
    """The reserve busy answering (not displaceable): a scrape waits in triage and is
    answered once the slot frees; a whole head for another path, a silent client past the
    deadline and the oldest waiting one when the queue is full are closed."""
    release, entered = threading.Event(), threading.Event()

    def slow(req: Request) -> Response:
        entered.set()
        release.wait(10)
        return Response.text(200, "slow")

    srv = LocalHttpServer("127.0.0.1", 0, reserve_header_timeout_s=2,
                          bounds=HttpBounds(header_timeout_s=5, max_connections=2,
                                            reserved_connections=1),
                          reserved_paths=("/metrics", "/slow"))
    srv.add_route("/echo", echo)
    srv.add_route("/metrics", echo)
    srv.add_route("/slow", slow)
    srv.start()
    inner = srv._server
    assert inner is not None
    held = _hold(srv, 1)
    busy = threading.Thread(target=get, args=(srv.url("/slow"),), daemon=True)
    busy.start()
    scraped: list[int] = []
    scrape = threading.Thread(target=lambda: scraped.append(get(srv.url("/metrics"))[0]),
                              daemon=True)
    try:
        assert entered.wait(5)
        with _connect(srv) as other:  # a whole head, not for a reserved path: closed
            other.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _closed(other)
        scrape.start()
        wait_for(inner.triage_waiting, timeout=5, what="the scrape to wait in triage")
        release.set()
        scrape.join(5)
        assert scraped == [200]
        busy.join(5)
        release.clear()
        entered.clear()
        busy = threading.Thread(target=get, args=(srv.url("/slow"),), daemon=True)
        busy.start()
        assert entered.wait(5)
        start = time.monotonic()
        waiting = [_connect(srv) for _ in range(3)]  # the queue holds max_connections (2)
        try:
            assert _closed(waiting[0])  # the oldest was dropped at once
            assert time.monotonic() - start < 1.5
            assert _closed(waiting[1])  # silent past the deadline (2 s)
            assert 1.5 < time.monotonic() - start < 4
        finally:
            for s in waiting:
                s.close()
        wait_for(lambda: not inner.triage_waiting(), timeout=5, what="an empty queue")
    finally:
        release.set()
        for s in held:
            s.close()
        srv.shutdown(5)


def test_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match=r"reserved_connections must be within 0\.\.3"):
        HttpBounds(max_connections=4, reserved_connections=4)
    with pytest.raises(ValueError, match="header_timeout_s must be above 0"):
        HttpBounds(header_timeout_s=0)
    with pytest.raises(ValueError, match="min_body_rate"):
        HttpBounds(min_body_rate=-1)

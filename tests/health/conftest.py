"""Real things for the health tests: managers that always stop, a local HTTP server that can
answer, fail or hang, SQLite files, an ffmpeg on a PATH of our choosing, a fake editor.
Helpers (not fixtures) live in health_helpers.py."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from health_helpers import Gate, LocalServer

from timeline_telemetry.health import HealthCheckManager


@pytest.fixture
def make_manager() -> Iterator[Callable[..., HealthCheckManager]]:
    """A factory of managers; each is stopped at the end of the test."""
    made: list[HealthCheckManager] = []

    def make(**kwargs: object) -> HealthCheckManager:
        m = HealthCheckManager(**kwargs)  # type: ignore[arg-type]
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop(timeout_s=2.0)


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.release.set()


# -- a real HTTP server on 127.0.0.1 -------------------------------------------------------
@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    state = LocalServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            if state.mode == "hang":
                state.release.wait(30)
                code = 200
            elif state.mode.startswith("status:"):
                code = int(state.mode.split(":", 1)[1])
            else:
                code = 200
            body = b"ok\n"
            try:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (the hang case)
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/health"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a 127.0.0.1 port nobody listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# -- SQLite ---------------------------------------------------------------------------------
@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A real SQLite file of a few hundred pages, every page in use."""
    path = tmp_path / "app.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE clips (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO clips (name) VALUES (?)",
                     [(f"clip-{i:05d}-" + "x" * 200,) for i in range(2000)])
    conn.execute("CREATE INDEX clips_name ON clips (name)")
    conn.commit()
    conn.close()
    return path


# -- ffmpeg -----------------------------------------------------------------------------------
@pytest.fixture
def ffmpeg_binary() -> str:
    """The real ffmpeg (Debian package ``ffmpeg``; CI installs it)."""
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.skip("needs ffmpeg (Debian 'ffmpeg' package)")
    return found


@pytest.fixture
def ffmpeg_dir(tmp_path: Path, ffmpeg_binary: str) -> Path:
    """A directory with a copy of ffmpeg in it, to put on PATH (a copy: tests touch it)."""
    d = tmp_path / "ffbin"
    d.mkdir()
    name = "ffmpeg.exe" if os.name == "nt" else "ffmpeg"
    shutil.copy2(ffmpeg_binary, d / name)
    return d


# -- a fake editor process ---------------------------------------------------------------------
@pytest.fixture
def fake_editor() -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Start a process whose argv[0] is the given editor name; it runs until stdin closes."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [name, "-c", "import sys; sys.stdin.read()"], executable=sys.executable,
            stdin=subprocess.PIPE,
        )
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.stdin is not None:
            p.stdin.close()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)

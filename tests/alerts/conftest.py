"""Fixtures for the alerting tests: a local HTTP capture server, Debian's Alertmanager with a
short ``resolve_timeout``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from alerts_helpers import AM, RESOLVE_TIMEOUT_S, Capture, running_alertmanager


@pytest.fixture
def capture_server() -> Iterator[Capture]:
    """An HTTP server on 127.0.0.1 (ephemeral port) recording JSON POST bodies."""
    cap = Capture("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with cap.cond:
                status = cap.statuses.pop(0) if cap.statuses else 202
                if status < 300:
                    cap.bodies.append(json.loads(data))
                    cap.paths.append(self.path)
                cap.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    cap.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield cap
    srv.shutdown()
    srv.server_close()
    t.join(5)


@pytest.fixture
def alertmanager_short(tmp_path: Path) -> Iterator[str]:
    """Debian's Alertmanager with ``resolve_timeout: 3s`` (5m by default)."""
    if AM is None:
        pytest.skip("prometheus-alertmanager not installed")
    with running_alertmanager(tmp_path, f"  resolve_timeout: {RESOLVE_TIMEOUT_S}s\n") as url:
        yield url

"""runtime/diagnose.py: each configured upstream tried once (DNS, connect, TLS), and the
thread dump; served by a running agent as /api/v1/diagnose and /api/v1/threads."""

from __future__ import annotations

import http.server
import json
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import free_port, self_signed_cert, wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.runtime.diagnose import (
    ProbeTarget,
    format_threads,
    probe,
    probe_all,
    thread_dump,
    upstream_targets,
)


def _target(port: int, *, host: str = "127.0.0.1", tls: bool = False) -> ProbeTarget:
    return ProbeTarget("t", "Otlp", f"http://{host}:{port}/v1/traces", host, port, tls)


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.BaseHTTPRequestHandler)
    th = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    th.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    th.join(5)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A TLS listener with a self-signed certificate that completes handshakes."""
    import socket

    cp, kp = self_signed_cert(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cp, kp)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(3)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    th = threading.Thread(target=serve, name="test-tls", daemon=True)
    th.start()
    yield sock.getsockname()[1], cp
    stop.set()
    th.join(5)
    sock.close()


def test_a_refused_port_is_a_tcp_error() -> None:
    out = probe(_target(free_port()), timeout_s=3)
    assert out["ok"] is False
    assert str(out["error"]).startswith("TCP: connect to 127.0.0.1:")
    assert "refused" in str(out["error"]).lower()


def test_a_listening_server_is_ok_with_its_latency(http_port: int) -> None:
    out = probe(_target(http_port), timeout_s=3)
    assert out["ok"] is True, out
    assert "error" not in out
    assert isinstance(out["connect_ms"], float) and 0 <= out["connect_ms"] < 3000
    assert isinstance(out["latency_ms"], float) and out["latency_ms"] >= out["connect_ms"]
    assert out["address"] == f"127.0.0.1:{http_port}"


def test_a_name_that_does_not_resolve_is_a_dns_error() -> None:
    out = probe(_target(4318, host="otlp.example.invalid"), timeout_s=3)
    assert out["ok"] is False
    assert str(out["error"]).startswith("DNS: cannot resolve 'otlp.example.invalid': ")
    assert "dns_ms" in out and "connect_ms" not in out


def test_a_self_signed_certificate_is_spelled_out(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    out = probe(_target(port, tls=True), timeout_s=3)
    assert out["ok"] is False
    assert str(out["error"]).startswith("TLS: certificate not accepted: ")
    assert "self-signed" in str(out["error"]) or "self signed" in str(out["error"])
    trusted = probe(_target(port, tls=True), timeout_s=3,
                    context=ssl.create_default_context(cafile=str(cert)))
    assert trusted["ok"] is True, trusted
    assert isinstance(trusted["tls_ms"], float)
    assert str(trusted["tls_version"]).startswith("TLS")


def test_probes_run_in_parallel_under_the_overall_cap() -> None:
    def slow(t: ProbeTarget) -> dict[str, object]:
        time.sleep(0.3 if t.name != "hung" else 5)
        return {"name": t.name, "ok": True}

    targets = [ProbeTarget(n, "Webhook", "https://x", "x", 443, True)
               for n in ("a", "b", "c", "hung")]
    started = time.monotonic()
    out = probe_all(targets, overall_s=1.0, prober=slow)
    assert time.monotonic() - started < 1.5
    assert [r["name"] for r in out] == ["a", "b", "c", "hung"]
    assert [r["ok"] for r in out] == [True, True, True, False]
    assert str(out[3]["error"]).startswith("no result within 1 s")


def test_targets_are_the_configured_upstreams_without_credentials(tmp_path: Path) -> None:
    config = parse_config({"telemetry": {
        "tracing": {"exporters": [
            {"Otlp": {"endpoint": "https://user:pw@otlp.example.invalid:4318?token=abc",
                      "headers": {"Authorization": "Bearer s3cret"}}},
            {"Jaeger": {"endpoint": "http://jaeger.example.invalid:14268/api/traces"}},
            {"File": {"path": str(tmp_path / "t.jsonl")}}]},
        "alerts": {"actions": [
            {"Webhook": {"url": "https://hooks.example.invalid/services/T0/B0/XXXX"}},
            {"Webhook": {"name": "hidden", "url": "env:HOOK_URL"}},
            {"Email": {"host": "smtp.example.invalid", "port": 465, "security": "tls",
                       "password": "pw", "recipients": ["a@example.invalid"]}}]},
    }}, source="test", base_dir=tmp_path)
    targets, notes = upstream_targets(config)
    shown = {t.kind: t.shown for t in targets}
    assert shown["Otlp"] == "https://otlp.example.invalid:4318/v1/traces"
    assert shown["Jaeger"] == "http://jaeger.example.invalid:4318/v1/traces"
    assert shown["Webhook"] == "https://hooks.example.invalid"
    assert shown["Email"] == "smtp://smtp.example.invalid:465 (tls)"
    assert {t.kind: (t.port, t.tls) for t in targets} == {
        "Otlp": (4318, True), "Jaeger": (4318, False), "Webhook": (443, True),
        "Email": (465, True)}
    assert notes == ["hidden (Webhook): the URL is a secret reference, not tried"]
    text = json.dumps(probe_all(targets, timeout_s=1, overall_s=5)) + repr(targets)
    for secret in ("pw", "abc", "s3cret", "XXXX", "B0"):
        assert secret not in text.replace("https", "")


def test_the_thread_dump_names_each_thread_and_where_it_waits() -> None:
    release = threading.Event()

    def parked_in_a_named_function(token: str) -> None:
        release.wait(10)

    th = threading.Thread(target=parked_in_a_named_function, args=("hunter2-secret",),
                          name="test-parked", daemon=True)
    th.start()
    try:
        def parked() -> bool:  # its innermost frame is inside Event.wait
            frame = sys._current_frames().get(th.ident or 0)
            return frame is not None and frame.f_code.co_name != "parked_in_a_named_function"

        wait_for(parked, timeout=5, what="the thread parked in release.wait")
        dump = thread_dump()
    finally:
        release.set()
        th.join(5)
    mine = next(t for t in dump if t["name"] == "test-parked")
    stack = mine["stack"]
    assert isinstance(stack, list)
    assert any("in parked_in_a_named_function: release.wait(10)" in s for s in stack)
    assert mine["native_id"] == th.native_id
    main = next(t for t in dump if t["name"] == "MainThread")
    if sys.platform.startswith("linux"):  # the test process's main thread has used CPU
        assert isinstance(main["cpu_seconds"], float) and main["cpu_seconds"] > 0
    text = format_threads(dump)
    assert "Thread test-parked (ident" in text and "Thread MainThread" in text
    assert f"native id {th.native_id}" in text
    assert "hunter2-secret" not in text


# -- the running agent's API ------------------------------------------------------------
@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[AgentRuntime]:
    refused = free_port()
    config = parse_config({"telemetry": {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "tracing": {"exporters": [{"Otlp": {"endpoint": f"http://127.0.0.1:{refused}"}}]},
        "health": {"checks": []},
        "alerts": {"enabled": False},
    }}, source="test", base_dir=tmp_path)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    rt = AgentRuntime(config, paths, mode="headless")
    rt.start()
    yield rt
    rt.stop()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())["data"]


def test_the_agent_serves_diagnose_and_threads(runtime: AgentRuntime) -> None:
    assert runtime.api_url is not None
    data = _get(runtime.api_url + "/diagnose")
    (otlp,) = data["probes"]
    assert otlp["kind"] == "Otlp" and otlp["ok"] is False
    assert str(otlp["error"]).startswith("TCP: connect to 127.0.0.1:")
    assert data["receiver"]["received"] == {"spans": 0, "metric_points": 0, "log_records": 0}
    assert data["receiver"]["endpoint"].startswith("http://127.0.0.1:")
    assert any(name.startswith("traces") for name in data["exporters"])
    threads = _get(runtime.api_url + "/threads")
    names = {t["name"] for t in threads}
    assert "MainThread" in names
    assert any(n.startswith("telemetry-http-conn") for n in names)

"""Helpers for the exporter tests: condition waits, free ports, small snapshots, scraping."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from timeline_telemetry.metrics import Metrics

T = TypeVar("T")

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


@dataclass
class PrometheusServer:
    """A running ``prometheus`` and its HTTP API."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as r:
            return json.loads(r.read())

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant vector result of ``expr`` (empty until the series has been scraped)."""
        body = self.api("/api/v1/query", query=expr)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if len(result) == 1 else None


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str,
             interval: float = 0.05) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        # Not synchronisation by sleeping: the condition is re-checked, this only paces polls.
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    """A port that was free a moment ago (for programs that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET",
        data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and raw body; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def body_text(headers: dict[str, str], body: bytes) -> str:
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8")


def sample_metrics() -> Metrics:
    """The metrics the tests expect to read back: a labelled counter, gauges, a histogram."""
    m = Metrics()
    m.increment_counter("api_requests_total", 3, {"endpoint": "/render", "status": "200"})
    m.increment_counter("api_requests_total", 1, {"endpoint": "/render", "status": "500"})
    m.increment_counter("exports_started", 2)  # an app counter without _total
    m.set_gauge("queue_size", 7, {"queue": "render"})
    m.set_gauge("system_swap_total_bytes", 123456789)
    for v in (4, 20, 20, 700):
        m.record_histogram("frame_processing_duration_ms", v)
    return m


def start_prometheus(config: Path, workdir: Path, *, cwd: Path | None = None
                     ) -> tuple[PrometheusServer, subprocess.Popen[bytes]]:
    """Start a real ``prometheus`` on a free 127.0.0.1 port with ``config`` and wait until
    it is ready; the caller stops the returned process."""
    assert PROMETHEUS is not None
    port = free_port()
    log = workdir / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", proc, log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    try:
        wait_for(ready, timeout=30, what="prometheus to be ready")
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return server, proc


def self_signed_cert(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and 127.0.0.1 (a day either side of now):
    ``(cert.pem, key.pem)`` written under ``tmp``, for TLS servers in tests."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                False)
            .sign(key, hashes.SHA256()))
    cp, kp = tmp / "cert.pem", tmp / "key.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return cp, kp


def markdown_sections(md: str) -> dict[str, str]:
    """A Markdown document's ``## `` sections: title -> body (stripped)."""
    out: dict[str, str] = {}
    for block in md.split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        out[title.strip()] = body.strip()
    return out

"""Real remote-write receivers (Prometheus, VictoriaMetrics) on 127.0.0.1 for tests and the bench.

Each can be stopped and started again on the same port and storage, as a receiver that went
down for a while and came back.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import free_port, wait_for

PROMETHEUS = shutil.which("prometheus")
VICTORIA_METRICS = shutil.which("victoria-metrics")
#: The config a Prometheus receiver needs to accept a backfilled gap (see docs/fleet.md).
OOO_WINDOW = "2h"


@dataclass
class Receiver:
    """One receiver: ``write_url`` takes remote-write, ``query``/``samples`` read it back."""

    kind: str
    workdir: Path
    port: int
    argv: list[str]
    auth: tuple[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / f"{self.kind}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def start(self) -> Receiver:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        wait_for(self._ready, timeout=60, what=f"{self.kind} to be ready")
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.kind} exited:\n{self.log.read_text()[-3000:]}")
        path = "/-/ready" if self.kind == "prometheus" else "/health"
        try:
            with urllib.request.urlopen(self._request(path), timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def _request(self, path: str, **params: str) -> urllib.request.Request:
        query = urllib.parse.urlencode(params)
        req = urllib.request.Request(f"{self.url}{path}" + (f"?{query}" if query else ""))
        if self.auth is not None:
            import base64

            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        return req

    def api(self, path: str, **params: str) -> Any:
        with urllib.request.urlopen(self._request(path, **params), timeout=10) as r:
            return json.loads(r.read())

    def query(self, expr: str, **params: str) -> list[dict[str, Any]]:
        body = self.api("/api/v1/query", query=expr, **params)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def samples(
        self, selector: str, start: float, end: float
    ) -> dict[str, list[tuple[float, float]]]:
        """Raw samples of every series ``selector`` matches in ``[start, end]`` (a range
        selector evaluated at ``end``: no lookback filling, so a gap shows)."""
        window = max(1, int(end - start + 0.999))
        out: dict[str, list[tuple[float, float]]] = {}
        for r in self.query(f"{selector}[{window}s]", time=f"{end:.3f}"):
            key = json.dumps(r["metric"], sort_keys=True)
            out[key] = [(float(t), float(v)) for t, v in r["values"]]
        return out


def prometheus_receiver(workdir: Path, *, ooo_window: str | None = OOO_WINDOW) -> Receiver:
    """A Prometheus with the remote-write receiver on (and an out-of-order window, so a
    backfilled gap older than its head is accepted); not started."""
    assert PROMETHEUS is not None
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "prometheus.yml"
    text = "global:\n  scrape_interval: 15s\n"
    if ooo_window:
        text += f"storage:\n  tsdb:\n    out_of_order_time_window: {ooo_window}\n"
    cfg.write_text(text)
    port = free_port()
    argv = [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]
    return Receiver("prometheus", workdir, port, argv)


def victoria_metrics(workdir: Path, *, auth: tuple[str, str] | None = None) -> Receiver:
    """A single-node VictoriaMetrics (optionally behind its own basic-auth check); not
    started. Its result cache is off so a backfilled gap shows in the next query."""
    assert VICTORIA_METRICS is not None
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [VICTORIA_METRICS, f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={workdir / 'data'}", "-retentionPeriod=1d",
            "-search.latencyOffset=1s", "-search.disableCache", "-loggerLevel=WARN"]
    if auth is not None:
        argv += [f"-httpAuth.username={auth[0]}", f"-httpAuth.password={auth[1]}"]
    return Receiver("victoria-metrics", workdir, port, argv, auth=auth)


def max_gap(points: list[tuple[float, float]]) -> float:
    """The longest time between consecutive samples (0 for fewer than two)."""
    ts = sorted(t for t, _ in points)
    return max((b - a for a, b in itertools.pairwise(ts)), default=0.0)


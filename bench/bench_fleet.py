"""A studio fleet on one machine: N agents pushing with remote-write vs N agents scraped.

Two phases, each with N fresh agents (``timeline-telemetry run --headless``, each its own
``TIMELINE_TELEMETRY_HOME`` and ``instance``) collecting every ``--interval`` seconds:

* remote-write: every agent has a ``RemoteWrite`` exporter to one real Prometheus started with
  ``--web.enable-remote-write-receiver`` (its Prometheus exporter listens but is never
  scraped, only read once at the end for the exporter's byte and sample counters);
* scrape: every agent has only its Prometheus exporter, and a second real Prometheus scrapes
  them through ``file_sd`` (a targets file in the format of
  ``resources/prometheus/file_sd/workstations.example.json``) at the same interval.

Per phase it reports the agents' CPU (% of one core, utime+stime from /proc over the window;
median and max over agents), bytes per sample on the wire (remote-write: snappy request bytes
/ samples, from the exporter's counters; scrape: one gzip scrape of each agent, as Prometheus
asks for it, / the samples in it), the central Prometheus' ingest
(``rate(prometheus_tsdb_head_samples_appended_total)``) and CPU, and the time from a
sample's timestamp to its being queryable centrally (polling ``timestamp()`` of one series
per agent every 100 ms; for scrape the timestamp is the scrape's, not the collection's).

Target: remote-write CPU per agent <= 1.2x scrape at the same interval.

Run: ``python bench/bench_fleet.py [--quick] [-n 20] [--interval 5] [--window 60]``.
``--quick``: 2 agents, 1 s interval, 2.5 s window (a smoke run: numbers are noise).
Prints; never asserts. Needs the Debian ``prometheus`` package (else prints ``SKIP``).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import machine_details, ratio_record, skip_record  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
SERVING = re.compile(r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics")
#: What Prometheus 2.42 asks for when it scrapes (scrape/scrape.go).
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def agent_command() -> list[str]:
    exe = Path(sys.executable).with_name("timeline-telemetry")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "timeline_telemetry.cli"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


@dataclass
class Proc:
    """A child process with its stderr collected (for the agents' serving line)."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    lines: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None

    def start(self) -> Proc:
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, text=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self.lines) < 2000:
                self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_line(self, rx: re.Pattern[str], timeout_s: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = rx.search(line)
                if m:
                    return m
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError("exited:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.05)
        raise RuntimeError(f"no line matching {rx.pattern}:\n" + "\n".join(self.lines[-20:]))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Prometheus:
    """A real Prometheus on a free 127.0.0.1 port."""

    def __init__(self, workdir: Path, config: str, *, receiver: bool) -> None:
        assert PROMETHEUS is not None
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]
        if receiver:
            argv.append("--web.enable-remote-write-receiver")
        self.proc = Proc(argv, cwd=workdir).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                http_get(f"{self.url}/-/ready")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("prometheus not ready:\n"
                                       + "\n".join(self.proc.lines)) from None
                time.sleep(0.05)

    def query(self, expr: str) -> list[dict[str, Any]]:
        _h, body = http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        return list(json.loads(body)["data"]["result"])

    def value(self, expr: str) -> float | None:
        r = self.query(expr)
        return float(r[0]["value"][1]) if r else None

    def appended(self) -> float:
        """Samples its TSDB head took in so far (read from its own /metrics: it does not
        scrape itself here)."""
        _h, body = http_get(f"{self.url}/metrics")
        return _metric(body.decode(), "prometheus_tsdb_head_samples_appended_total")


def agent_config(home: Path, *, interval: float, instance: str, write_url: str | None) -> Path:
    exporters: list[dict[str, object]] = [{"Prometheus": {"port": 0, "enable_compression": True}}]
    if write_url is not None:
        exporters.append({"RemoteWrite": {"url": write_url,
                                          "external_labels": {"instance": instance}}})
    cfg = home / "bench.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": f"{interval:g}s", "exporters": exporters,
                    "collectors": {"gpu": False}},
        "ingest": {"otlp": {"port": 0}},
    }}))
    return cfg


@dataclass
class Phase:
    name: str
    cpu: list[float]
    bytes_per_sample: float
    samples_per_agent_s: float
    ingest: float
    central_cpu: float
    latency: list[float]


def start_agents(root: Path, n: int, *, interval: float, write_url: str | None
                 ) -> list[tuple[Proc, int, str]]:
    agents = []
    for i in range(n):
        home = root / f"agent-{i:02d}"
        home.mkdir(parents=True)
        cfg = agent_config(home, interval=interval, instance=f"agent-{i:02d}",
                           write_url=write_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_")}
        env.update(TIMELINE_TELEMETRY_HOME=str(home),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
        agents.append((Proc([*agent_command(), "run", "--headless", "--config", str(cfg)],
                            env=env).start(), i, f"agent-{i:02d}"))
    out = []
    for proc, _i, name in agents:
        port = int(proc.wait_line(SERVING).group(1))
        out.append((proc, port, name))
    return out


def poll_latency(prom: Prometheus, selector: str, label: str, until: float) -> list[float]:
    """Seconds from each new sample's timestamp to its first being seen by a query."""
    seen: dict[str, float] = {}
    out: list[float] = []
    while time.time() < until:
        try:
            rows = prom.query(f"timestamp({selector})")
        except OSError:
            rows = []
        now = time.time()
        for r in rows:
            key = str(r["metric"].get(label, ""))
            ts = float(r["value"][1])
            if key in seen and ts > seen[key]:
                out.append(now - ts)
            seen[key] = ts
        time.sleep(0.1)
    return out


def run_phase(name: str, root: Path, n: int, interval: float, warmup: float, window: float
              ) -> Phase:
    push = name == "remote-write"
    if push:
        prom = Prometheus(root / "central", "global:\n  scrape_interval: 15s\n"
                          "storage:\n  tsdb:\n    out_of_order_time_window: 2h\n", receiver=True)
        agents = start_agents(root, n, interval=interval,
                              write_url=f"{prom.url}/api/v1/write")
    else:
        # The targets file first: Prometheus' discovery passes on changes only every 5 s.
        agents = start_agents(root, n, interval=interval, write_url=None)
        sd = root / "file_sd" / "workstations.json"
        sd.parent.mkdir(parents=True)
        sd.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"],
                                   "labels": {"agent": name}} for _p, port, name in agents]))
        prom = Prometheus(root / "central", (
            f"global:\n  scrape_interval: {interval:g}s\n  scrape_timeout: {interval:g}s\n"
            "scrape_configs:\n  - job_name: workstations\n    file_sd_configs:\n"
            f"      - files: ['{sd}']\n        refresh_interval: 1s\n"), receiver=False)
        # Discovery hands targets on every 5 s: measure once every agent is being scraped.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (prom.value("count(up == 1)") or 0) < n:
            time.sleep(0.2)
    try:
        time.sleep(warmup)  # a bench: the warm-up is a duration, not a synchronisation
        t0 = time.time()
        before = {p.pid: cpu_ticks(p.pid) for p, _port, _n in agents}
        prom_before = cpu_ticks(prom.proc.pid)
        appended_before = prom.appended()
        label = "instance" if push else "agent"
        latency = poll_latency(prom, "system_memory_total_bytes", label, t0 + window)
        elapsed = time.time() - t0
        cpu = [100.0 * (cpu_ticks(p.pid) - before[p.pid]) / CLK_TCK / elapsed
               for p, _port, _n in agents]
        central_cpu = 100.0 * (cpu_ticks(prom.proc.pid) - prom_before) / CLK_TCK / elapsed
        ingest = (prom.appended() - appended_before) / elapsed
        if push:
            sent_b = sent_n = 0.0
            for _p, port, _n in agents:
                _h, body = http_get(f"http://127.0.0.1:{port}/metrics")
                text = body.decode()
                sent_b += _metric(text, "telemetry_remote_write_sent_bytes_total")
                sent_n += _metric(text, "telemetry_remote_write_samples_sent_total")
            bps = sent_b / sent_n if sent_n else float("nan")
            per_agent = sent_n / n / max(1e-9, time.time() - t0 + warmup)
        else:
            sizes, counts = [], []
            for _p, port, _n in agents:
                heads, body = http_get(f"http://127.0.0.1:{port}/metrics", SCRAPE_HEADERS)
                raw = gzip.decompress(body) if heads.get("content-encoding") == "gzip" else body
                sizes.append(len(body))
                counts.append(sum(1 for ln in raw.decode().splitlines()
                                  if ln and not ln.startswith("#")))
            bps = sum(sizes) / max(1, sum(counts))
            per_agent = statistics.mean(counts) / interval
        return Phase(name, cpu, bps, per_agent, ingest, central_cpu, latency)
    finally:
        for p, _port, _n in agents:
            p.stop()
        prom.proc.stop()


def _metric(text: str, name: str) -> float:
    total = 0.0
    for ln in text.splitlines():
        if ln.startswith(name + "{") or ln.startswith(name + " "):
            total += float(ln.rsplit(" ", 1)[1])
    return total


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _fmt(values: list[float], unit: str) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):.2f}{unit} (min {min(values):.2f}, "
            f"max {max(values):.2f}, n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="2 agents, 1 s, 2.5 s window")
    ap.add_argument("-n", "--agents", type=int, default=20)
    ap.add_argument("--interval", type=float, default=5.0, help="collection = scrape interval")
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--window", type=float, default=60.0)
    args = ap.parse_args(argv)
    if args.quick:
        args.agents, args.interval, args.warmup, args.window = 2, 1.0, 1.5, 2.5
    print("bench_fleet: N agents with remote-write vs N agents scraped through file_sd")
    for line in machine_details():
        print(f"  {line}")
    print(f"  agents {args.agents}, interval {args.interval:g} s, warm-up {args.warmup:g} s, "
          f"window {args.window:g} s")
    if PROMETHEUS is None:
        print(skip_record("fleet", "needs the Debian 'prometheus' package "
                                   "(apt-get install prometheus)"))
        return 0
    phases = []
    for name in ("remote-write", "scrape"):
        with scratch() as root:
            phases.append(run_phase(name, root, args.agents, args.interval, args.warmup,
                                    args.window))
    for ph in phases:
        print(f"{ph.name}:")
        print(f"  agent CPU % of a core     {_fmt(ph.cpu, ' %')}")
        print(f"  bytes per sample (wire)   {ph.bytes_per_sample:.2f}")
        print(f"  samples per agent per s   {ph.samples_per_agent_s:.1f}")
        print(f"  central ingest            {ph.ingest:.0f} samples/s, "
              f"central CPU {ph.central_cpu:.1f} % of a core")
        print(f"  timestamp -> queryable    {_fmt(ph.latency, ' s')}")
    rw, sc = phases
    # Agent i of one phase against agent i of the other (same home layout, same instance).
    ratios = [a / b for a, b in zip(rw.cpu, sc.cpu, strict=False) if b > 0]
    if ratios:
        print(ratio_record(f"remote-write/scrape agent CPU @{args.interval:g}s "
                           f"x{args.agents}", ratios, op="<=", target=1.2))
    else:
        print(skip_record("remote-write/scrape agent CPU",
                          "the scraped agents used no measurable CPU (window too short)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

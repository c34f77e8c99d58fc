"""A buggy editor cannot cost frames: the agent under an OTLP flood of distinct metric names
and label values, pushed with the real OTel SDK exporter.

Method. ``timeline-telemetry run --headless`` starts with its default config plus a
Prometheus exporter and the OTLP receiver on spare 127.0.0.1 ports (files in a temp dir).
Three phases, measured on the agent's process:

* before: a quiet window (``--window`` s) after start-up: CPU, RSS, /metrics size and time;
* flood: one sender process (its CPU is not ours) builds, chunk by chunk, 200,000 distinct
  metric names (one gauge point each) and one counter with 200,000 distinct label values,
  each chunk in a fresh ``MeterProvider`` with an ``InMemoryMetricReader`` (so the sender's
  memory stays flat), and exports the chunks with ``OTLPMetricExporter`` paced evenly over
  ``--flood`` s (default 60), label values and names interleaved (one service). Meanwhile:
  peak RSS (sampled every 0.25 s), CPU % of one core over the whole flood, /metrics scraped every
  2 s (largest body, slowest scrape). The sender reports how many points the agent refused
  (``partial_success``);
* after: ``--settle`` s of rest, then the same window as before.

Targets (the flood's figures): peak RSS <= 80 MB, CPU <= 10 % of a core, /metrics <= 5 MB,
scrape <= 100 ms; "after" should be back near "before". CPU is the change of utime+stime in
``/proc/PID/stat``, RSS is VmRSS.

Run: ``python bench/bench_flood.py [--quick] [--names N] [--values N] [--flood S]``.
``--quick``: 4,000 names and 4,000 label values over 2 s, 1 s windows, for CI: it runs
everything and asserts nothing. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_agent import (
    AgentSpec,
    Running,
    cpu_ticks,
    free_port,
    ours_command,
    rss_bytes,
    scrape_once,
)
from run_all import machine_details, ratio_record

TARGET_RSS_MB = 80.0
TARGET_CPU_PERCENT = 10.0
TARGET_METRICS_MB = 5.0
TARGET_SCRAPE_MS = 100.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# argv: endpoint, names, values, chunk, seconds. Prints "ready", waits for a line, floods,
# prints one JSON line: exports, ok, points, rejected, elapsed.
SENDER = r"""
import json, sys, time
import requests
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

endpoint, names, values, chunk, seconds = sys.argv[1], *map(int, sys.argv[2:5]), float(sys.argv[5])
resource = Resource({"service.name": "timeline-studio", "service.instance.id": "buggy-editor"})
rejected = [0]
def count_refused(resp, *args, **kwargs):  # a requests response hook: read partial_success
    if resp.ok and resp.content:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceResponse)
        rejected[0] += ExportMetricsServiceResponse.FromString(
            resp.content).partial_success.rejected_data_points
session = requests.Session()
session.hooks["response"].append(count_refused)
exporter = OTLPMetricExporter(endpoint=endpoint, timeout=10, session=session)

def build(kind, start, n):
    reader = InMemoryMetricReader()
    mp = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    meter = mp.get_meter("buggy")
    if kind == "names":
        for i in range(start, start + n):
            meter.create_gauge(f"buggy.metric.{i}", unit="1").set(i)
    else:
        c = meter.create_counter("buggy.requests")
        for i in range(start, start + n):
            c.add(1, {"request_id": f"req-{i:08d}"})
    data = reader.get_metrics_data()
    mp.shutdown()
    return data

jobs = [("names", s, min(chunk, names - s)) for s in range(0, names, chunk)]
jobs2 = [("values", s, min(chunk, values - s)) for s in range(0, values, chunk)]
order = []
for i in range(max(len(jobs), len(jobs2))):
    order += jobs2[i:i + 1] + jobs[i:i + 1]  # the counter first: it gets a name's place
assert exporter.export(build("names", 10**9, 1)).name == "SUCCESS", "warm-up export failed"
print("ready", flush=True)
sys.stdin.readline()
start = time.monotonic()
ok = points = 0
for k, (kind, s, n) in enumerate(order):
    data = build(kind, s, n)
    ok += exporter.export(data).name == "SUCCESS"
    points += n
    delay = start + (k + 1) * seconds / len(order) - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(json.dumps({"exports": len(order), "ok": ok, "points": points, "rejected": rejected[0],
                  "elapsed": time.monotonic() - start}), flush=True)
"""


@dataclass
class Phase:
    """One measured window of the agent."""

    name: str
    seconds: float = 0.0
    cpu_percent: float = 0.0
    rss_mb: list[float] = field(default_factory=list)
    scrape_ms: list[float] = field(default_factory=list)
    metrics_kb: list[float] = field(default_factory=list)

    def line(self) -> str:
        rss = f"RSS {statistics.median(self.rss_mb):.1f} MB (peak {max(self.rss_mb):.1f})"
        scrape = (f"/metrics {max(self.metrics_kb):.0f} KB, scrape median "
                  f"{statistics.median(self.scrape_ms):.1f} ms (max {max(self.scrape_ms):.1f}, "
                  f"{len(self.scrape_ms)} scrapes)")
        return (f"# {self.name:<7} {self.seconds:5.1f} s: CPU {self.cpu_percent:5.2f} % of a "
                f"core, {rss}, {scrape}")


class Sampler:
    """RSS every 0.25 s and a scrape every ``scrape_every`` s, on one thread, until closed."""

    def __init__(self, pid: int, url: str, phase: Phase, scrape_every: float) -> None:
        self.pid, self.url, self.phase, self.every = pid, url, phase, scrape_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_scrape = time.monotonic()
        while True:
            with contextlib.suppress(OSError):
                self.phase.rss_mb.append(rss_bytes(self.pid) / 1e6)
            if time.monotonic() >= next_scrape:
                self.scrape()
                next_scrape += self.every
            if self._stop.wait(0.25):
                return

    def scrape(self) -> None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, size, secs = scrape_once(self.url, timeout_s=10)
            if status == 200:
                self.phase.scrape_ms.append(secs * 1000)
                self.phase.metrics_kb.append(size / 1024)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self.scrape()


def measure(agent: Running, name: str, seconds: float, *, scrape_every: float,
            during: subprocess.Popen[str] | None = None) -> tuple[Phase, str]:
    """One phase: ``seconds`` of quiet, or until the sender ``during`` finishes."""
    phase = Phase(name)
    t0, ticks0 = time.monotonic(), cpu_ticks(agent.pid)
    sampler = Sampler(agent.pid, agent.spec.url, phase, scrape_every)
    out = ""
    try:
        if during is not None:
            assert during.stdin is not None
            during.stdin.write("go\n")
            during.stdin.flush()
            out = during.communicate(timeout=seconds * 3 + 120)[0]
        else:
            time.sleep(seconds)
        ticks1, t1 = cpu_ticks(agent.pid), time.monotonic()
    finally:
        sampler.close()
    phase.seconds = t1 - t0
    phase.cpu_percent = (ticks1 - ticks0) / CLK_TCK / phase.seconds * 100
    return phase, out


def agent_spec(workdir: Path) -> tuple[AgentSpec, str]:
    """Our agent, default config plus the two ports; and the OTLP endpoint."""
    prom, otlp = free_port(), free_port()
    config = {"telemetry": {"metrics": {"exporters": [{"Prometheus": {"port": prom}}]},
                            "ingest": {"otlp": {"port": otlp}}}}
    env = {**os.environ, "TIMELINE_TELEMETRY_HOME": str(workdir / "home")}
    for var in ("TELEMETRY_CONFIG", "PROMETHEUS_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(var, None)
    spec = AgentSpec(
        name="ours", argv=[*ours_command(), "run", "--headless", "--config",
                           str(workdir / "config.json")],
        url=f"http://127.0.0.1:{prom}/metrics", env=env, version="", workdir=workdir,
        settings=f"run --headless, config {json.dumps(config['telemetry'])}, else default",
        files={"config.json": json.dumps(config)}, ready_marker=b"system_memory_usage_bytes")
    return spec, f"http://127.0.0.1:{otlp}/v1/metrics"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few seconds, for CI")
    ap.add_argument("--names", type=int, default=200_000, help="distinct metric names")
    ap.add_argument("--values", type=int, default=200_000, help="distinct label values")
    ap.add_argument("--flood", type=float, default=60.0, help="seconds the flood lasts")
    ap.add_argument("--window", type=float, default=20.0, help="before/after window, s")
    ap.add_argument("--settle", type=float, default=15.0, help="rest after the flood, s")
    ap.add_argument("--chunk", type=int, default=2000, help="points per export")
    args = ap.parse_args(argv)
    if args.quick:
        args.names = args.values = 4000
        args.flood, args.window, args.settle, args.chunk = 2.0, 1.0, 0.5, 1000
    scrape_every = 0.5 if args.quick else 2.0

    print("# OTLP flood: distinct metric names and label values into the running agent")
    for line in machine_details():
        print(f"# {line}")
    print(f"# {args.names} names + {args.values} label values, {args.chunk} points per "
          f"export, over {args.flood:g} s; windows {args.window:g} s, settle {args.settle:g} s")
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        workdir = Path(tmp)
        spec, endpoint = agent_spec(workdir)
        print(f"# ours: {spec.settings}")
        agent = Running(spec)
        sender: subprocess.Popen[str] | None = None
        try:
            agent.wait_ready()
            sender = subprocess.Popen(
                [sys.executable, "-c", SENDER, endpoint, str(args.names), str(args.values),
                 str(args.chunk), str(args.flood)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=(workdir / "sender.err").open("w"), text=True)
            before, _ = measure(agent, "before", args.window, scrape_every=scrape_every)
            assert sender.stdout is not None
            if sender.stdout.readline().strip() != "ready":
                sender.wait(30)
                raise RuntimeError("sender failed:\n" + (workdir / "sender.err").read_text())
            flood, out = measure(agent, "flood", args.flood, scrape_every=scrape_every,
                                 during=sender)
            time.sleep(args.settle)
            after, _ = measure(agent, "after", args.window, scrape_every=scrape_every)
        finally:
            if sender is not None and sender.poll() is None:
                sender.kill()
                sender.wait(10)
            agent.stop()
        result = json.loads(out) if out.strip() else {}
        for phase in (before, flood, after):
            print(phase.line())
        print(f"# sender: {result.get('exports', 0)} exports ({result.get('ok', 0)} ok), "
              f"{result.get('points', 0)} points, {result.get('rejected', 0)} refused by the "
              f"agent (partial_success), {result.get('elapsed', 0.0):.1f} s")
    rss = max(flood.rss_mb)
    print(ratio_record("flood peak RSS MB / 80", [rss / TARGET_RSS_MB], op="<=", target=1.0))
    print(ratio_record("flood CPU % of a core / 10", [flood.cpu_percent / TARGET_CPU_PERCENT],
                       op="<=", target=1.0))
    print(ratio_record("flood /metrics MB / 5", [max(flood.metrics_kb) / 1024 / TARGET_METRICS_MB],
                       op="<=", target=1.0))
    print(ratio_record("flood slowest scrape ms / 100",
                       [max(flood.scrape_ms) / TARGET_SCRAPE_MS], op="<=", target=1.0))
    print(ratio_record("after/before CPU", [after.cpu_percent / max(before.cpu_percent, 0.01)]))
    print(ratio_record("after/before median scrape",
                       [statistics.median(after.scrape_ms) / statistics.median(before.scrape_ms)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

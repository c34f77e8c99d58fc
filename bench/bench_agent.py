"""Agent overhead: CPU % of one core and RSS of ``timeline-telemetry run --headless`` versus
Debian's ``prometheus-node-exporter`` and Glances (PyPI), each collecting at the same
interval and scraped at that interval the way Prometheus 2.42 scrapes (same Accept and
``Accept-Encoding: gzip`` headers, one keep-alive connection).

Method (docs/testing.md, "Measuring overhead"): per round, every agent in turn (the order
rotates each round) is started fresh, made ready (/metrics answers), scraped through a
warm-up, then through the measured window; CPU is the change of utime+stime (+ reaped
children) in /proc/PID/stat over the window as a percent of one core; RSS is the peak VmRSS
sampled once a second in the window. Ratios are ours / peer within the same round.

Targets: CPU <= 1.0x node_exporter and <= 0.35x Glances; RSS <= Glances'.
Defaults: 1 s and 5 s (the development preset's interval), 10 s warm-up, 60 s window,
3 rounds: ~21 minutes with both peers. ``--quick``: 1 s only, 1 round, 3 s window.

Peers: node_exporter from ``apt-get install prometheus-node-exporter`` (run with only
``--web.listen-address``: default collectors); Glances from PyPI in its own venv under the
bench cache dir (``--install-glances`` makes it; never the project's venv), run as
``glances -C <conf> --quiet --export prometheus -t <interval> --disable-check-update`` with
the conf giving its exporter a 127.0.0.1 port. A missing peer prints a ``SKIP`` line.

Run: ``python bench/bench_agent.py [--quick] [--install-glances]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import machine_details, ratio_record, skip_record

#: What Prometheus 2.42 sends when it scrapes (scrape/scrape.go).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SCRAPE_HEADERS = {
    "Accept": PROMETHEUS_ACCEPT,
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
}
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GLANCES_INSTALL_HINT = "python bench/bench_agent.py --install-glances (a venv under {dir})"
NODE_EXPORTER_INSTALL_HINT = "apt-get install prometheus-node-exporter"


def default_cache_dir() -> Path:
    """Where peers installed for the bench live (never the project's venv)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "timeline-telemetry-bench"


# -- agents -----------------------------------------------------------------------------------
@dataclass
class AgentSpec:
    """How to start one agent and where it answers."""

    name: str
    argv: list[str]
    url: str
    env: dict[str, str]
    version: str
    settings: str
    workdir: Path
    files: dict[str, str] = field(default_factory=dict)  # name -> content, written at start
    ready_marker: bytes = b""  # /metrics is "ready" once its body holds this


@dataclass
class Skipped:
    """A peer that cannot run here, and how to install it."""

    name: str
    reason: str


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _first_line(argv: Sequence[str]) -> str:
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    text = (res.stdout or res.stderr).strip()
    return text.splitlines()[0].strip() if text else "unknown"


def ours_command() -> list[str]:
    """``timeline-telemetry`` of this interpreter's environment (the console script if there
    is one beside the interpreter, else ``python -m timeline_telemetry.cli``)."""
    script = Path(sys.executable).with_name("timeline-telemetry")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "timeline_telemetry.cli"]


def ours_spec(interval: float, workdir: Path, *, extra_config: dict[str, object] | None = None,
              version: str | None = None) -> AgentSpec:
    """Our agent with the default config plus ``collection_interval``, a Prometheus exporter
    on a spare port and the OTLP receiver on any free port; its files under ``workdir``
    (TIMELINE_TELEMETRY_HOME)."""
    port = free_port()
    metrics: dict[str, object] = {
        "collection_interval": f"{interval:g}s",
        "exporters": [{"Prometheus": {"port": port}}],
    }
    metrics.update(extra_config or {})
    # The OTLP receiver stays on (it is part of the default agent) but on any free port, so
    # a receiver already on 4318 (a test, a real agent) cannot stop the bench.
    config = {"telemetry": {"metrics": metrics, "ingest": {"otlp": {"port": 0}}}}
    cmd = ours_command()
    env = {**os.environ, "TIMELINE_TELEMETRY_HOME": str(workdir / "home")}
    env.pop("TELEMETRY_CONFIG", None)
    env.pop("PROMETHEUS_PORT", None)
    return AgentSpec(
        name="ours",
        argv=[*cmd, "run", "--headless", "--config", str(workdir / "config.json")],
        url=f"http://127.0.0.1:{port}/metrics",
        env=env,
        version=version or _first_line([*cmd, "--version"]),
        settings=f"run --headless, config {json.dumps(config['telemetry'])}, "
                 "everything else default (history on, compression off)",
        workdir=workdir,
        files={"config.json": json.dumps(config)},
        ready_marker=b"system_memory_usage_bytes",
    )


def find_node_exporter() -> str | None:
    """Debian's binary name, or upstream's."""
    return shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


def node_exporter_spec(workdir: Path) -> AgentSpec | Skipped:
    """node_exporter with default collectors on a spare 127.0.0.1 port (it collects per
    scrape, so its interval is the scrape interval)."""
    exe = find_node_exporter()
    if exe is None:
        return Skipped("node_exporter", f"not installed; install: {NODE_EXPORTER_INSTALL_HINT}")
    port = free_port()
    return AgentSpec(
        name="node_exporter",
        argv=[exe, f"--web.listen-address=127.0.0.1:{port}"],
        url=f"http://127.0.0.1:{port}/metrics",
        env=dict(os.environ),
        version=_first_line([exe, "--version"]),
        settings="default collectors, collects on each scrape",
        workdir=workdir,
        ready_marker=b"node_cpu_seconds_total",
    )


def find_glances(cache_dir: Path, explicit: str | None = None) -> Path | None:
    """The Glances of the bench venv (or ``explicit``), if it exists."""
    if explicit:
        return Path(explicit) if Path(explicit).exists() else None
    exe = cache_dir / "glances-venv" / "bin" / "glances"
    return exe if exe.exists() else None


def install_glances(cache_dir: Path) -> Path:
    """Make ``<cache>/glances-venv`` with glances and prometheus-client (its exporter needs
    it) from PyPI; returns the glances executable."""
    venv = cache_dir / "glances-venv"
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "glances", "prometheus-client", "py-spy"], check=True)
    return venv / "bin" / "glances"


def glances_spec(interval: float, workdir: Path, exe: Path | None, cache_dir: Path
                 ) -> AgentSpec | Skipped:
    """Glances without its UI (``--quiet``), refreshing every ``interval``, exporting to
    Prometheus on a spare 127.0.0.1 port; HOME points into ``workdir``."""
    if exe is None:
        return Skipped("glances", "not installed; install: "
                       + GLANCES_INSTALL_HINT.format(dir=cache_dir))
    port = free_port()
    conf = (
        "[global]\ncheck_update=false\n"
        f"[prometheus]\nhost=127.0.0.1\nport={port}\nprefix=glances\nlabels=src:glances\n"
    )
    home = workdir / "home"
    return AgentSpec(
        name="glances",
        argv=[str(exe), "-C", str(workdir / "glances.conf"), "--quiet", "--export",
              "prometheus", "-t", f"{interval:g}", "--disable-check-update"],
        url=f"http://127.0.0.1:{port}/metrics",
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
             "XDG_CACHE_HOME": str(home / ".cache")},
        version=_first_line([str(exe), "-V"]),
        settings=f"--quiet --export prometheus -t {interval:g}, default plugins",
        workdir=workdir,
        files={"glances.conf": conf},
        ready_marker=b"glances_cpu",  # its exporter serves nothing until the first refresh
    )


# -- running and measuring --------------------------------------------------------------------
class Running:
    """A started agent; ``stop`` ends it (SIGTERM, then SIGKILL after a deadline)."""

    def __init__(self, spec: AgentSpec) -> None:
        self.spec = spec
        spec.workdir.mkdir(parents=True, exist_ok=True)
        for name, content in spec.files.items():
            (spec.workdir / name).write_text(content)
        self._out = (spec.workdir / "stdout.log").open("wb")
        self._err = (spec.workdir / "stderr.log").open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(spec.argv, env=spec.env, cwd=spec.workdir,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, start_new_session=True)

    @property
    def pid(self) -> int:
        """The agent's process id."""
        return self.proc.pid

    def stderr_tail(self, n: int = 15) -> str:
        """The last lines it wrote to stderr (for error messages)."""
        text = (self.spec.workdir / "stderr.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-n:])

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Block until /metrics answers 200; seconds since start. Raises if it exits."""
        deadline = time.monotonic() + timeout_s
        stop = threading.Event()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited with {self.proc.returncode}:\n"
                                   f"{self.stderr_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, body = fetch(self.spec.url, timeout_s=2.0)
                if status == 200 and self.spec.ready_marker in body:
                    return time.monotonic() - self.started
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.spec.name}: {self.spec.url} not ready after "
                                   f"{timeout_s:.0f} s:\n{self.stderr_tail()}")
            stop.wait(0.005)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL; idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        self._out.close()
        self._err.close()


def fetch(url: str, *, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """One uncompressed GET (Prometheus' Accept header, no gzip): status and body."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        conn.request("GET", "/" + path, headers={**SCRAPE_HEADERS, "Accept-Encoding": "identity"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def scrape_once(url: str, *, timeout_s: float = 5.0,
                conn: http.client.HTTPConnection | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, int, float]:
    """One GET: (status, body bytes as sent, seconds until the whole body was read)."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    own = conn is None
    c = conn or http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        t = time.perf_counter()
        c.request("GET", "/" + path, headers=headers or SCRAPE_HEADERS)
        resp = c.getresponse()
        body = resp.read()
        return resp.status, len(body), time.perf_counter() - t
    finally:
        if own:
            c.close()


class Scraper:
    """Scrapes one URL every ``period`` seconds on a keep-alive connection, like Prometheus;
    also samples the agent's VmRSS each period. Paced on an Event, joined on ``close``."""

    def __init__(self, url: str, period: float, pid: int) -> None:
        self.url, self.period, self.pid = url, period, pid
        self.latencies: list[float] = []
        self.sizes: list[int] = []
        self.rss: list[int] = []
        self.errors = 0
        self.recording = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-scraper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        host_port = self.url.removeprefix("http://").partition("/")[0]
        host, _, port = host_port.partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                status, size, secs = scrape_once(self.url, conn=conn)
                if status != 200:
                    raise http.client.HTTPException(f"status {status}")
                if self.recording:
                    self.latencies.append(secs)
                    self.sizes.append(size)
            except (OSError, http.client.HTTPException):
                self.errors += self.recording
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            if self.recording:
                with contextlib.suppress(OSError):
                    self.rss.append(rss_bytes(self.pid))
            next_at += self.period
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        conn.close()

    def close(self) -> None:
        """Stop and join."""
        self._stop.set()
        self._thread.join(15)


def cpu_ticks(pid: int) -> int:
    """utime+stime+cutime+cstime of ``pid`` in clock ticks (/proc/PID/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return sum(int(x) for x in fields[11:15])


def rss_bytes(pid: int) -> int:
    """VmRSS of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Measurement:
    """One agent over one window."""

    cpu_percent: float
    rss_peak: int
    scrape_median_ms: float
    payload_bytes: int
    raw_bytes: int
    scrapes: int
    errors: int
    ready_s: float


def measure(spec: AgentSpec, *, warmup_s: float, window_s: float, period: float) -> Measurement:
    """Start ``spec``, scrape it through warm-up and window, stop it; CPU over the window."""
    run = Running(spec)
    scraper: Scraper | None = None
    try:
        ready = run.wait_ready()
        scraper = Scraper(spec.url, period, run.pid)
        waiter = threading.Event()
        waiter.wait(warmup_s)  # pacing, not synchronisation: the warm-up is wall time
        scraper.recording = True
        t0, c0 = time.monotonic(), cpu_ticks(run.pid)
        waiter.wait(window_s)
        t1, c1 = time.monotonic(), cpu_ticks(run.pid)
        scraper.recording = False
        if run.proc.poll() is not None:
            raise RuntimeError(f"{spec.name} died during the window:\n{run.stderr_tail()}")
        raw = len(fetch(spec.url)[1])
    finally:
        if scraper is not None:
            scraper.close()
        run.stop()
    lat = scraper.latencies or [float("nan")]
    return Measurement(
        cpu_percent=100.0 * (c1 - c0) / CLK_TCK / (t1 - t0),
        rss_peak=max(scraper.rss or [rss_bytes_safe(run.pid)]),
        scrape_median_ms=1000 * statistics.median(lat),
        payload_bytes=int(statistics.median(scraper.sizes or [0])),
        raw_bytes=raw,
        scrapes=len(scraper.latencies),
        errors=scraper.errors,
        ready_s=ready,
    )


def rss_bytes_safe(pid: int) -> int:
    """``rss_bytes`` or 0 when the process is gone."""
    try:
        return rss_bytes(pid)
    except OSError:
        return 0


def exit_on_signal(signum: int, _frame: object) -> None:
    """A signal handler that unwinds the main thread (so agents get stopped)."""
    raise SystemExit(128 + signum)


def rotated(items: Sequence[str], k: int) -> list[str]:
    """``items`` rotated left by ``k`` (a different agent goes first each round)."""
    k %= max(1, len(items))
    return [*items[k:], *items[:k]]


# -- the comparison ---------------------------------------------------------------------------
@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory for the agents' files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        yield Path(tmp)


def compare(interval: float, *, rounds: int, warmup_s: float, window_s: float,
            scrape_period: float, glances_exe: Path | None, cache_dir: Path) -> None:
    """All agents at one interval: a table of absolutes, then RATIO/SKIP lines."""
    results: dict[str, list[Measurement | None]] = {}
    specs_seen: dict[str, AgentSpec] = {}
    skipped: list[Skipped] = []
    ours_version = _first_line([*ours_command(), "--version"])
    with scratch_dir() as tmp:
        def make(name: str, r: int) -> AgentSpec | Skipped:
            work = tmp / f"{name}-{r}"
            if name == "ours":
                return ours_spec(interval, work, version=ours_version)
            if name == "node_exporter":
                return node_exporter_spec(work)
            return glances_spec(interval, work, glances_exe, cache_dir)

        names = ["ours"]
        for peer in ("node_exporter", "glances"):
            probe = make(peer, -1)
            if isinstance(probe, Skipped):
                skipped.append(probe)
            else:
                names.append(peer)
                specs_seen[peer] = probe
        for r in range(rounds):
            for name in rotated(names, r):
                spec = make(name, r)
                assert isinstance(spec, AgentSpec)
                specs_seen[name] = spec
                print(f"# round {r + 1}/{rounds} @{interval:g}s: {name}...", flush=True)
                try:
                    m: Measurement | None = measure(spec, warmup_s=warmup_s,
                                                    window_s=window_s, period=scrape_period)
                except RuntimeError as exc:
                    print(f"# {name} failed: {exc}", flush=True)
                    m = None
                results.setdefault(name, []).append(m)

    print(f"\n== @{interval:g}s: collection every {interval:g} s, scraped every "
          f"{scrape_period:g} s, warm-up {warmup_s:g} s, window {window_s:g} s, {rounds} "
          f"round(s) alternating")
    for name in names:
        spec = specs_seen[name]
        print(f"# {name}: {spec.version}; {spec.settings}")
    print(f"{'agent':<14} {'CPU % of a core':>22} {'peak RSS MB':>20} {'scrape ms':>10} "
          f"{'KB sent/raw':>12} {'ready s':>8}")
    for name in names:
        ms = [m for m in results[name] if m is not None]
        if not ms:
            print(f"{name:<14} (every round failed)")
            continue
        cpu = [m.cpu_percent for m in ms]
        rss = [m.rss_peak / 1e6 for m in ms]
        sent = statistics.median(m.payload_bytes for m in ms) / 1000
        raw_kb = statistics.median(m.raw_bytes for m in ms) / 1000
        print(f"{name:<14} {_mmm(cpu, '.2f'):>22} {_mmm(rss, '.1f'):>20} "
              f"{statistics.median(m.scrape_median_ms for m in ms):>10.1f} "
              f"{f'{sent:.1f}/{raw_kb:.1f}':>12} "
              f"{statistics.median(m.ready_s for m in ms):>8.2f}"
              + (f"  ({sum(m.errors for m in ms)} scrape errors)" if any(m.errors for m in ms)
                 else ""))
    targets: dict[tuple[str, str], tuple[str, float] | None] = {
        ("node_exporter", "CPU"): ("<=", 1.0),
        ("glances", "CPU"): ("<=", 0.35),
        ("glances", "RSS"): ("<=", 1.0),
        ("node_exporter", "RSS"): None,
    }
    for peer in names[1:]:
        for metric in ("CPU", "RSS"):
            ratios = []
            for ours_m, peer_m in zip(results["ours"], results[peer], strict=True):
                if ours_m is None or peer_m is None:
                    continue
                if metric == "CPU":
                    if peer_m.cpu_percent > 0:
                        ratios.append(ours_m.cpu_percent / peer_m.cpu_percent)
                else:
                    ratios.append(ours_m.rss_peak / peer_m.rss_peak)
            target = targets[(peer, metric)]
            label = f"ours/{peer} {metric} @{interval:g}s"
            if not ratios:
                print(skip_record(label, "no round where both ran (see the errors above)"))
            elif target is None:
                print(ratio_record(label, ratios))
            else:
                print(ratio_record(label, ratios, op=target[0], target=target[1]))
    for s in skipped:
        print(skip_record(f"{s.name} @{interval:g}s", s.reason))


def _mmm(values: Sequence[float], fmt: str) -> str:
    return (f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the comparison at each interval."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1 s interval, 1 round, 1 s warm-up, 3 s window (CI smoke run)")
    ap.add_argument("--intervals", default="1,5",
                    help="comma-separated collection intervals in seconds (default 1,5)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds (default 10)")
    ap.add_argument("--window", type=float, default=60.0, help="seconds (default 60)")
    ap.add_argument("--scrape-every", type=float, default=None,
                    help="seconds between scrapes (default: the collection interval)")
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                    help="where the Glances venv lives (default %(default)s)")
    ap.add_argument("--glances", default=None, help="path of a glances executable to use")
    ap.add_argument("--install-glances", action="store_true",
                    help="create <cache-dir>/glances-venv with glances from PyPI first")
    args = ap.parse_args(argv)
    # SIGTERM (and SIGINT, which a background job ignores) must still stop the agents we
    # started: raising SystemExit runs every ``finally`` that stops them.
    signal.signal(signal.SIGTERM, exit_on_signal)
    intervals = [float(x) for x in args.intervals.split(",") if x.strip()]
    if args.quick:
        intervals, args.rounds, args.warmup, args.window = [1.0], 1, 1.0, 3.0
    if sys.platform != "linux":
        print(skip_record("agent overhead", "needs Linux /proc"))
        return 0
    if args.install_glances:
        install_glances(args.cache_dir)
    glances_exe = find_glances(args.cache_dir, args.glances)
    print("# agent overhead: ours vs node_exporter vs Glances")
    for line in machine_details():
        print(f"# {line}")
    for interval in intervals:
        compare(interval, rounds=args.rounds, warmup_s=args.warmup, window_s=args.window,
                scrape_period=args.scrape_every or interval, glances_exe=glances_exe,
                cache_dir=args.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

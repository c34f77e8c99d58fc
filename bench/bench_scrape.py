"""Scrape latency, render time and start-up of our /metrics, side by side with peers.

1. Scrape latency (median, p90 over N scrapes, alternating between targets, each on its own
   keep-alive connection, with Prometheus 2.42's headers): the default agent
   (``run --headless``, 5 s collection = the development preset's interval, Prometheus
   exporter with default settings) versus node_exporter (and Glances if installed).
2. Netdata-sized payload: a server with ``--series`` (default 3,000) netdata-shaped gauge
   series (3 labels each) in a separate process: ours (``PrometheusExporter`` over
   ``Metrics``, gzip enabled like prometheus-client's server) versus prometheus-client's
   own ``start_http_server`` over the same series; with and without ``Accept-Encoding: gzip``.
3. Render time of 10,000 series (half gauges, half counters, 2 labels) in process: our
   ``Metrics.snapshot`` + exposition (what a scrape runs) versus prometheus-client's
   ``generate_latest`` over native instruments holding the same series, classic text (with
   and without the ``_created`` series) and OpenMetrics. Target: <= 0.5x.
4. Start-up: process start to the first /metrics answer that holds the agent's own
   metrics (headless), ours versus node_exporter and Glances.

Run: ``python bench/bench_scrape.py [--quick]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved
from bench_agent import (
    SCRAPE_HEADERS,
    AgentSpec,
    Running,
    Skipped,
    default_cache_dir,
    exit_on_signal,
    fetch,
    find_glances,
    free_port,
    glances_spec,
    node_exporter_spec,
    ours_spec,
    rotated,
    scrape_once,
)
from run_all import machine_details, ratio_record, skip_record

NO_GZIP = {**SCRAPE_HEADERS, "Accept-Encoding": "identity"}
NETDATA_REFERENCE = "netdata 1.37 here: 186 KB, 4.0 ms median (shared/docs/peers.md)"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def latency_rounds(urls: dict[str, str], n: int, headers: dict[str, str],
                   gap_s: float = 0.02) -> dict[str, tuple[list[float], int]]:
    """``n`` scrapes of each URL, alternating (one keep-alive connection each): per target
    the latencies in ms and the median body size as sent."""
    conns: dict[str, http.client.HTTPConnection] = {}
    for name, url in urls.items():
        host, _, port = url.removeprefix("http://").partition("/")[0].partition(":")
        conns[name] = http.client.HTTPConnection(host, int(port), timeout=10)
    out: dict[str, list[float]] = {k: [] for k in urls}
    sizes: dict[str, list[int]] = {k: [] for k in urls}
    pace = threading.Event()
    try:
        for name, url in urls.items():  # one warm-up scrape opens the connection
            scrape_once(url, conn=conns[name], headers=headers)
        for i in range(n):
            for name in rotated(list(urls), i):
                status, size, secs = scrape_once(urls[name], conn=conns[name], headers=headers)
                if status == 200:
                    out[name].append(secs * 1000)
                    sizes[name].append(size)
                pace.wait(gap_s)  # pacing between scrapes, like a scraper with many targets
    finally:
        for c in conns.values():
            c.close()
    return {k: (out[k], int(statistics.median(sizes[k] or [0]))) for k in urls}


def print_latency(title: str, res: dict[str, tuple[list[float], int]], base: str) -> None:
    """A table of median/p90/size and ours/peer ratio lines."""
    print(f"\n== {title}")
    print(f"{'target':<28} {'median ms':>10} {'p90 ms':>8} {'KB sent':>8}")
    for name, (lat, size) in res.items():
        print(f"{name:<28} {statistics.median(lat):>10.2f} {percentile(lat, 0.9):>8.2f} "
              f"{size / 1000:>8.1f}")
    ours, _ = res[base]
    for name, (lat, _) in res.items():
        if name == base:
            continue
        pairs = list(zip(ours, lat, strict=False))
        # ratio per block of scrapes, so min/max show the spread over the run
        blocks = _blocks(pairs, 5)
        print(ratio_record(f"{base}/{name} scrape median ({title})",
                           [statistics.median(o for o, _ in b) / statistics.median(p for _, p in b)
                            for b in blocks]))
        print(ratio_record(f"{base}/{name} scrape p90 ({title})",
                           [percentile([o for o, _ in b], 0.9) / percentile([p for _, p in b], 0.9)
                            for b in blocks]))


def _blocks(pairs: list[tuple[float, float]], k: int) -> list[list[tuple[float, float]]]:
    size = max(1, len(pairs) // k)
    return [pairs[i:i + size] for i in range(0, len(pairs) - size + 1, size)]


# -- 1. default agent vs node_exporter --------------------------------------------------------
def bench_default_agent(n: int, cache_dir: Path) -> None:
    """Section 1."""
    with tempfile.TemporaryDirectory(prefix="bench-scrape-") as tmp:
        specs: list[AgentSpec] = [ours_spec(5.0, Path(tmp) / "ours")]
        skipped: list[Skipped] = []
        for peer in (node_exporter_spec(Path(tmp) / "ne"),
                     glances_spec(5.0, Path(tmp) / "gl", find_glances(cache_dir), cache_dir)):
            (skipped if isinstance(peer, Skipped) else specs).append(peer)  # type: ignore[arg-type]
        runs = [Running(s) for s in specs]
        try:
            for r in runs:
                r.wait_ready()
            urls = {r.spec.name: r.spec.url for r in runs}
            res = latency_rounds(urls, n, SCRAPE_HEADERS)
        finally:
            for r in runs:
                r.stop()
    print(f"# {n} scrapes of each, alternating, Prometheus 2.42's headers (gzip accepted)")
    print_latency("default agent", res, "ours")
    for s in skipped:
        print(skip_record(f"{s.name} scrape latency", s.reason))


# -- 2. netdata-sized payloads ----------------------------------------------------------------
def netdata_series(n: int) -> list[tuple[str, dict[str, str], float]]:
    """``n`` gauge series shaped like netdata's allmetrics (a chart and a dimension label,
    2-decimal values), ~60 bytes a line: 3,000 of them make netdata's ~186 KB payload."""
    rng = random.Random(7)
    out = []
    per_family = 50
    for i in range(n):
        fam, dim = divmod(i, per_family)
        out.append((f"netdata_c{fam}_average", {"chart": f"c.{fam}", "dimension": f"d{dim}"},
                    round(rng.uniform(0, 1e4), 2)))
    return out


def serve(kind: str, n: int) -> int:
    """Child mode: serve ``n`` netdata-shaped series, print the URL, run until stdin closes."""
    series = netdata_series(n)
    port = free_port()
    if kind == "ours":
        from timeline_telemetry.export.prometheus import PrometheusExporter
        from timeline_telemetry.metrics import Metrics

        metrics = Metrics()
        for name, labels, value in series:
            metrics.set_gauge(name, value, labels)
        exporter = PrometheusExporter(snapshot_source=metrics.snapshot, port=port,
                                      enable_compression=True)
        exporter.start()
        print(exporter.url, flush=True)
        sys.stdin.read()
        exporter.shutdown()
    else:
        import prometheus_client

        reg = prometheus_client.CollectorRegistry()
        gauges: dict[str, prometheus_client.Gauge] = {}
        for name, labels, value in series:
            g = gauges.get(name)
            if g is None:
                g = gauges[name] = prometheus_client.Gauge(name, "Netdata-shaped series.",
                                                           list(labels), registry=reg)
            g.labels(**labels).set(value)
        server, thread = prometheus_client.start_http_server(port, addr="127.0.0.1",
                                                             registry=reg)
        print(f"http://127.0.0.1:{port}/metrics", flush=True)
        sys.stdin.read()
        server.shutdown()
        thread.join(5)
    return 0


def bench_netdata_sized(n_series: int, n: int) -> None:
    """Section 2."""
    print(f"# netdata-sized payload: ours (PrometheusExporter over Metrics, gzip enabled) vs "
          f"prometheus-client's start_http_server, {n_series} series, {n} scrapes of each")
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        urls: dict[str, str] = {}
        for kind in ("ours", "prometheus-client"):
            p = subprocess.Popen([sys.executable, __file__, "--serve", kind,
                                  "--series", str(n_series)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            procs[kind] = p
            assert p.stdout is not None
            urls[kind] = p.stdout.readline().strip()
            if not urls[kind]:
                raise RuntimeError(f"the {kind} server did not start")
            status, body = fetch(urls[kind])
            lines = body.count(b"\n")
            print(f"# {kind} server: {urls[kind]} -> {status}, {len(body) / 1000:.0f} KB raw, "
                  f"{lines} lines")
        for title, headers in (("gzip", SCRAPE_HEADERS), ("no gzip", NO_GZIP)):
            res = latency_rounds(urls, n, headers)
            print_latency(f"{n_series} series, {title}", res, "ours")
        print(f"# reference: {NETDATA_REFERENCE}")
    finally:
        for p in procs.values():
            with contextlib.suppress(OSError):
                assert p.stdin is not None
                p.stdin.close()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


# -- 3. render time ---------------------------------------------------------------------------
def bench_render(n_series: int, rounds: int, calls: int) -> None:
    """Section 3."""
    import prometheus_client
    from prometheus_client import metrics as pc_metrics
    from prometheus_client.openmetrics import exposition as om

    from timeline_telemetry.export.prometheus import PrometheusExporter
    from timeline_telemetry.metrics import Metrics

    per_family = 200
    rng = random.Random(3)
    ours = Metrics(max_series_per_metric=per_family)
    reg = prometheus_client.CollectorRegistry()
    counters: dict[str, prometheus_client.Counter] = {}
    gauges: dict[str, prometheus_client.Gauge] = {}
    for i in range(n_series):
        fam, k = divmod(i, per_family)
        labels = {"chart": f"chart_{fam}", "dimension": f"dim_{k}"}
        value = float(rng.randrange(0, 10**9))
        if fam % 2:
            name = f"bench_c{fam}"
            ours.set_counter_total(name + "_total", value, labels)
            if k == 0:
                counters[name] = prometheus_client.Counter(name, "A counter.",
                                                           ["chart", "dimension"], registry=reg)
            counters[name].labels(**labels).inc(value)
        else:
            name = f"bench_g{fam}"
            ours.set_gauge(name, value, labels)
            if k == 0:
                gauges[name] = prometheus_client.Gauge(name, "A gauge.", ["chart", "dimension"],
                                                       registry=reg)
            gauges[name].labels(**labels).set(value)
    exporter = PrometheusExporter(snapshot_source=ours.snapshot, port=0)
    om_accept = "application/openmetrics-text;version=1.0.0"

    def pc_no_created() -> bytes:
        pc_metrics.disable_created_metrics()  # type: ignore[no-untyped-call]
        try:
            return prometheus_client.generate_latest(reg)
        finally:
            pc_metrics.enable_created_metrics()  # type: ignore[no-untyped-call]

    cases: dict[str, Callable[[], object]] = {
        "ours text": lambda: exporter.render(""),
        "prometheus-client text": lambda: prometheus_client.generate_latest(reg),
        "prometheus-client text, no _created": pc_no_created,
        "ours openmetrics": lambda: exporter.render(om_accept),
        "prometheus-client openmetrics": lambda: om.generate_latest(reg),  # type: ignore[no-untyped-call]
    }
    for name, fn in cases.items():
        body = fn()
        size = len(body[0] if isinstance(body, tuple) else body)  # type: ignore[arg-type]
        print(f"# {name}: {size / 1000:.0f} KB")
    res = interleaved(cases, rounds=rounds, n=calls)
    print(f"\n== render {n_series} series ({rounds} rounds x {calls} renders, alternating)")
    for name, values in res.items():
        print(f"{name:<40} median {statistics.median(values) / 1e6:8.2f} ms")
    for ours_case, peer_case in (("ours text", "prometheus-client text"),
                                 ("ours text", "prometheus-client text, no _created"),
                                 ("ours openmetrics", "prometheus-client openmetrics")):
        ratios = [o / p for o, p in zip(res[ours_case], res[peer_case], strict=True)]
        print(ratio_record(f"{ours_case}/{peer_case} render {n_series} series", ratios,
                           op="<=", target=0.5))


# -- 4. start-up ------------------------------------------------------------------------------
def bench_startup(rounds: int, cache_dir: Path) -> None:
    """Section 4."""
    times: dict[str, list[float]] = {}
    skipped: list[Skipped] = []
    glances = find_glances(cache_dir)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        def make(name: str, r: int) -> AgentSpec | Skipped:
            work = Path(tmp) / f"{name}-{r}"
            if name == "ours":
                return ours_spec(1.0, work)
            if name == "node_exporter":
                return node_exporter_spec(work)
            return glances_spec(1.0, work, glances, cache_dir)

        names = ["ours"]
        for peer in ("node_exporter", "glances"):
            probe = make(peer, -1)
            if isinstance(probe, Skipped):
                skipped.append(probe)
            else:
                names.append(peer)
        for r in range(rounds):
            for name in rotated(names, r):
                spec = make(name, r)
                assert isinstance(spec, AgentSpec)
                run = Running(spec)
                try:
                    times.setdefault(name, []).append(run.wait_ready())
                finally:
                    run.stop()
    print(f"\n== start-up to /metrics ready with the agent's own metrics ({rounds} rounds)")
    for name in names:
        print(f"{name:<16} median {statistics.median(times[name]):6.2f} s "
              f"(min {min(times[name]):.2f}, max {max(times[name]):.2f})")
    for peer in names[1:]:
        print(ratio_record(f"ours/{peer} start-up to /metrics",
                           [o / p for o, p in zip(times["ours"], times[peer], strict=True)]))
    for s in skipped:
        print(skip_record(f"{s.name} start-up", s.reason))


def main(argv: list[str] | None = None) -> int:
    """Run the four sections (or serve, in the child mode)."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few scrapes and renders, for CI")
    ap.add_argument("--scrapes", type=int, default=200, help="scrapes per target (default 200)")
    ap.add_argument("--series", type=int, default=3000,
                    help="series in the netdata-sized case (default 3000)")
    ap.add_argument("--render-series", type=int, default=10_000)
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    ap.add_argument("--sections", default="agents,netdata,render,startup",
                    help="which sections to run (default: %(default)s)")
    ap.add_argument("--serve", choices=("ours", "prometheus-client"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_signal)  # run the finally blocks that stop agents
    if args.serve:
        return serve(args.serve, args.series)
    if sys.platform != "linux":
        print(skip_record("scrape", "needs Linux /proc"))
        return 0
    rounds, calls, startup_rounds = (5, 10, 3)
    if args.quick:
        args.scrapes, args.series, args.render_series = 10, 300, 1000
        rounds, calls, startup_rounds = 2, 2, 1
    print("# scrape latency, render time and start-up")
    for line in machine_details():
        print(f"# {line}")
    from importlib.metadata import version

    print(f"# prometheus-client {version('prometheus-client')}")
    sections = {x.strip() for x in args.sections.split(",")}
    if "agents" in sections:
        bench_default_agent(args.scrapes, args.cache_dir)
    if "netdata" in sections:
        print()
        bench_netdata_sized(args.series, args.scrapes)
    if "render" in sections:
        bench_render(args.render_series, rounds, calls)
    if "startup" in sections:
        bench_startup(startup_rounds, args.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The tray app's own cost, side by side with node_exporter in the same run:
CPU % of one core and peak RSS at a 1 s collection interval with the dashboard closed,
then with the dashboard open on its Overview, then on its Metrics page with the plots live,
and the time from start to the tray icon registered with the panel.

It runs the real app (``python -m timeline_telemetry.ui``) on a throwaway desktop: Xvfb, a
private D-Bus session bus and a StatusNotifierItem watcher (tests/ui/desktop_session.py).
The dashboard is opened the way a user's second start does it (single instance,
``--open PAGE``).
Targets: dashboard closed RSS <= 80 MB and CPU <= 0.5x node_exporter (run and scraped at
1 s beside the closed tray, over the same window); Overview and the live plots <= 2 % of a
core.
Run: ``python bench/bench_tray.py [--quick] [--rounds N] [--window S]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "ui"))

import bench_agent as ba  # noqa: E402


def tray_spec(workdir: Path, env: dict[str, str], interval: float) -> ba.AgentSpec:
    port = ba.free_port()
    config = {"telemetry": {
        "metrics": {"collection_interval": f"{interval:g}s",
                    "exporters": [{"Prometheus": {"port": port}}]},
        "ingest": {"otlp": {"port": 0}},
    }}
    return ba.AgentSpec(
        name="tray",
        argv=[sys.executable, "-m", "timeline_telemetry.ui", "--config",
              str(workdir / "config.json")],
        url=f"http://127.0.0.1:{port}/metrics",
        env={**env, "TIMELINE_TELEMETRY_HOME": str(workdir / "home")},
        version="",
        settings=f"tray app, config {json.dumps(config['telemetry'])}",
        workdir=workdir,
        files={"config.json": json.dumps(config)},
        ready_marker=b"system_memory_usage_bytes",
    )


def measure_tray(spec: ba.AgentSpec, desk: object, *, warmup_s: float, window_s: float,
                 page: str = "", peer: ba.AgentSpec | None = None,
                 ) -> tuple[ba.Measurement, float, ba.Measurement | None]:
    """Like bench_agent.measure, plus the time until the tray icon registered; with
    ``peer``, that agent runs and is scraped over the same window (a machine shared with
    other work moves both figures together, so their ratio holds)."""
    from desktop_session import wait_for  # type: ignore[import-not-found]

    run = ba.Running(spec)
    other = ba.Running(peer) if peer is not None else None
    scrapers: list[ba.Scraper] = []
    try:
        registered = wait_for(desk.bus.items, 30, "the tray icon")  # type: ignore[attr-defined]
        icon_s = time.monotonic() - run.started
        assert registered
        ready = run.wait_ready()
        if page:  # a second start asks the first to show its dashboard at the page
            subprocess.run([*spec.argv, "--open", page], env=spec.env, check=False, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs = [run] if other is None else [run, other]
        peer_ready = other.wait_ready() if other is not None else 0.0
        scrapers = [ba.Scraper(r.spec.url, 1.0, r.pid) for r in runs]
        pause = ba.threading.Event()
        pause.wait(warmup_s)  # pacing: the warm-up is wall time
        for sc in scrapers:
            sc.recording = True
        t0, c0 = time.monotonic(), [ba.cpu_ticks(r.pid) for r in runs]
        pause.wait(window_s)
        t1, c1 = time.monotonic(), [ba.cpu_ticks(r.pid) for r in runs]
        for sc in scrapers:
            sc.recording = False
    finally:
        for sc in scrapers:
            sc.close()
        run.stop()
        if other is not None:
            other.stop()
    out = [ba.Measurement(
        cpu_percent=100.0 * (c1[i] - c0[i]) / ba.CLK_TCK / (t1 - t0),
        rss_peak=max(sc.rss or [0]),
        scrape_median_ms=1000 * statistics.median(sc.latencies or [float("nan")]),
        payload_bytes=0, raw_bytes=0, scrapes=len(sc.latencies), errors=sc.errors,
        ready_s=(ready, peer_ready)[i],
    ) for i, sc in enumerate(scrapers)]
    return out[0], icon_s, out[1] if len(out) > 1 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one short round, for CI")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--closed-only", action="store_true",
                    help="only the dashboard-closed case (beside node_exporter)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup, args.window = 1, 1.0, 3.0
    try:
        from desktop_session import desktop, missing_tools
    except ImportError as exc:
        print(f"SKIP tray: needs jeepney and the UI test helpers ({exc})")
        return 0
    missing = missing_tools()
    if missing:
        print(f"SKIP tray: missing {', '.join(missing)} (apt-get install xvfb dbus "
              "haskell-status-notifier-item-utils)")
        return 0
    print(f"# tray app cost — {platform.platform()}, python {sys.version.split()[0]}")
    print(f"# {args.rounds} rounds, warm-up {args.warmup:g}s, window {args.window:g}s, "
          "collection and scrape every 1s")
    closed: list[ba.Measurement] = []
    overview: list[ba.Measurement] = []
    opened: list[ba.Measurement] = []
    icons: list[float] = []
    peers: list[ba.Measurement] = []
    with ba.scratch_dir() as tmp:
        for r in range(args.rounds):
            peer = ba.node_exporter_spec(tmp / f"ne-{r}")
            if isinstance(peer, ba.Skipped):
                if r == 0:
                    print(f"SKIP node_exporter: {peer.reason}")
                peer = None
            with desktop(tmp / f"desk-{r}") as desk:
                pages = (("", closed), ("overview", overview), ("metrics", opened))
                for page, into in pages[:1] if args.closed_only else pages:
                    m, icon_s, pm = measure_tray(
                        tray_spec(tmp / f"tray-{r}-{page or 'closed'}", desk.env, 1.0), desk,
                        warmup_s=args.warmup, window_s=args.window, page=page,
                        peer=peer if not page else None)
                    into.append(m)
                    icons.append(icon_s)
                    if pm is not None:
                        peers.append(pm)

    def med(ms: list[ba.Measurement], f: str) -> float:
        return statistics.median(getattr(m, f) for m in ms)

    print(f"{'':<34}{'CPU % of a core':>16}{'peak RSS MB':>14}")
    for label, ms in (("tray, dashboard closed", closed),
                      ("tray, dashboard open: Overview", overview),
                      ("tray, dashboard open: live plots", opened), ("node_exporter", peers)):
        if ms:
            print(f"{label:<34}{med(ms, 'cpu_percent'):>16.2f}{med(ms, 'rss_peak') / 1e6:>14.1f}")
    print(f"tray icon registered after (median) {statistics.median(icons):.2f} s")
    rss = med(closed, "rss_peak") / 1e6
    print(f"RATIO tray-closed-rss-MB-vs-80MB median={rss / 80:.2f} min={rss / 80:.2f} "
          f"max={rss / 80:.2f} target<=1.0 {'met' if rss <= 80 else 'missed'}")
    for name, ms in (("overview", overview), ("plots", opened)):
        if not ms:
            continue
        cpu = med(ms, "cpu_percent")
        print(f"RATIO tray-{name}-cpu-vs-2pct median={cpu / 2:.2f} min={cpu / 2:.2f} "
              f"max={cpu / 2:.2f} target<=1.0 {'met' if cpu <= 2 else 'missed'}")
    if peers:
        ratios = [c.cpu_percent / p.cpu_percent for c, p in zip(closed, peers, strict=False)
                  if p.cpu_percent > 0]
        if ratios:
            mr = statistics.median(ratios)
            print(f"RATIO tray-closed-cpu-vs-node_exporter median={mr:.2f} "
                  f"min={min(ratios):.2f} max={max(ratios):.2f} target<=0.5 "
                  f"{'met' if mr <= 0.5 else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

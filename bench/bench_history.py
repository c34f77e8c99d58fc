"""History store: the cost of one collection's append+flush, range-query times, disk size.

Simulates ``--series`` series (default 80: the default metric set with per-core CPU on a
16-thread machine) collected every ``--interval`` seconds (default 30 s, the high-load
preset) with retention ``--retention-days`` (default 7, high-load), on a fake clock, so
7 days take under a minute. Prints, after 24 h and after the full run:
append+flush per collection (median, p99, max, in µs), query times for one series and for
every series over the last 24 h and 7 d (all points, and max_points=500 as a plot asks),
and the size on disk with the rows per tier.

Run: ``python bench/bench_history.py [--quick]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics import DEFAULT_CATALOG, MetricKind
from timeline_telemetry.metrics.model import FlatSample

DAY = 86400.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_series(n: int) -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    """``(name, labels, kind)`` shaped like the default collectors' output."""
    out: list[tuple[str, tuple[tuple[str, str], ...], str]] = []
    cores = min(16, n // 4)
    out += [("system_cpu_core_usage_percent", (("core", str(i)),), "percent")
            for i in range(cores)]
    names = [s.exposed_name for s in DEFAULT_CATALOG.values()
             if s.kind in (MetricKind.GAUGE, MetricKind.COUNTER)
             and s.name != "system_cpu_core_usage_percent"]
    i = 0
    while len(out) < n:
        name = names[i % len(names)]
        labels: tuple[tuple[str, str], ...] = ()
        if i >= len(names):
            labels = (("mountpoint", f"/mnt/{i // len(names)}"),)
        kind = "percent" if "percent" in name else ("counter" if "total" in name else "bytes")
        out.append((name, labels, kind))
        i += 1
    return out


def simulate(store: HistoryStore, clock: Clock, series, *, start: float, end: float,
             interval: float, rng: random.Random, costs: list[float]) -> float:
    state = [rng.uniform(0, 1e9) for _ in series]
    ts = start
    while ts < end:
        clock.now = ts
        samples = []
        for k, (name, labels, kind) in enumerate(series):
            if kind == "percent":
                v = round(rng.uniform(0, 100), 2)
            elif kind == "counter":
                state[k] += rng.randrange(0, 10_000_000)
                v = float(state[k] // 1)
            else:
                v = float(int(state[k]) + rng.randrange(-4096, 4096) * 4096)
            samples.append(FlatSample(name, labels, v))
        t = time.perf_counter_ns()
        store.append(ts, samples)
        store.flush()
        costs.append((time.perf_counter_ns() - t) / 1000)
        ts += interval
    return ts


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def report(store: HistoryStore, clock: Clock, series, label: str, costs: list[float],
           path: Path) -> None:
    costs_sorted = sorted(costs)
    p99 = costs_sorted[min(len(costs) - 1, int(len(costs) * 0.99))]
    print(f"\n== after {label} ({len(costs)} collections of {len(series)} samples)")
    print(f"append+flush per collection: median {statistics.median(costs):8.0f} µs, "
          f"p99 {p99:8.0f} µs, max {costs_sorted[-1]:8.0f} µs")
    one_name, one_labels, _ = series[0]
    names = store.names()
    now = clock.now
    for window_label, window in (("24h", DAY), ("7d", 7 * DAY)):
        if window > now - START + 3600:
            continue
        start = now - window
        for mp in (None, 500):
            tag = "all points" if mp is None else f"max_points={mp}"
            one = timed(lambda s=start, m=mp: store.query(
                one_name, dict(one_labels), start=s, end=now, max_points=m))
            every = timed(lambda s=start, m=mp: [
                store.query(n, start=s, end=now, max_points=m) for n in names], repeat=3)
            pts = sum(len(s.points) for s in store.query(one_name, dict(one_labels),
                                                          start=start, end=now, max_points=mp))
            print(f"query {window_label:>3} {tag:<15}: one series {one:7.1f} ms ({pts} points),"
                  f" all {len(series)} series {every:7.1f} ms")
    with sqlite3.connect(path) as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("samples_raw", "samples_1m", "samples_15m")}
        pages, free = (conn.execute("PRAGMA page_count").fetchone()[0],
                       conn.execute("PRAGMA freelist_count").fetchone()[0])
    conn.close()
    db = path.stat().st_size
    wal = Path(str(path) + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    total_rows = sum(rows.values())
    print(f"disk: {store.size_bytes() / 1e6:.2f} MB total (db {db / 1e6:.2f} MB, "
          f"{pages} pages, {free} free; wal {wal_size / 1e6:.2f} MB)")
    print("rows: " + ", ".join(f"{k.removeprefix('samples_')} {v}" for k, v in rows.items())
          + f"; {db / max(1, total_rows):.1f} bytes per row in the db")


START = 1_700_000_000.0 - 1_700_000_000.0 % 900


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 series every 5 min: a few seconds")
    ap.add_argument("--series", type=int, default=80)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between collections")
    ap.add_argument("--retention-days", type=float, default=7.0)
    args = ap.parse_args(argv)
    if args.quick:
        args.series, args.interval = 20, 300.0

    print(machine_line())
    print(f"{args.series} series every {args.interval:g} s, retention {args.retention_days:g} d"
          f", raw 1 h, 1-minute tier 24 h")
    rng = random.Random(42)
    series = make_series(args.series)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        path = Path(tmp) / "history.sqlite3"
        clock = Clock(START)
        store = HistoryStore(path, retention=args.retention_days * DAY, clock=clock)
        costs: list[float] = []
        wall = time.perf_counter()
        ts = simulate(store, clock, series, start=START, end=START + DAY,
                      interval=args.interval, rng=rng, costs=costs)
        report(store, clock, series, "24 h", costs, path)
        end = START + args.retention_days * DAY
        if end > ts:
            costs.clear()
            simulate(store, clock, series, start=ts, end=end, interval=args.interval,
                     rng=rng, costs=costs)
            report(store, clock, series, f"{args.retention_days:g} d", costs, path)
        store.close()
        print(f"\nclosed: {path.stat().st_size / 1e6:.2f} MB; "
              f"simulation took {time.perf_counter() - wall:.1f} s of wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

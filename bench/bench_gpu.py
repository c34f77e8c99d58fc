"""GPU collector: what the per-process, encoder, clock, power and throttle readings add to one
collection, with recorded NVML answers (no GPU needed).

Each scenario replays a recording from ``tests/collectors/nvml_recordings`` through
``RecordedNvml`` and times ``NvidiaGpuCollector.collect()`` two ways, alternating, over
several rounds: with everything the collector reads now ("full"), and with only the five
device readings it made before (utilisation, VRAM, encoder, decoder, temperature: the other
functions absent from the replayed module, as in old bindings). "added" is full minus that
baseline, per round. It also counts the NVML calls one full collection makes.

What this does not measure: the driver's own time per NVML call (ctypes, ioctl). The replay
answers from Python dicts, so the figures are the collector's Python cost; multiply the call
count by the per-call time measured on a real driver to bound the rest.

Target: added <= 0.5 ms per collection. Run: ``python bench/bench_gpu.py [--quick]``.
Prints; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import machine_details, ratio_record
from timeline_telemetry.collectors.editor import EditorProcessView
from timeline_telemetry.collectors.gpu import NvidiaGpuCollector
from timeline_telemetry.collectors.gpu_replay import RECORDED_CALLS, RecordedNvml, load_recording

RECORDINGS = Path(__file__).resolve().parents[1] / "tests" / "collectors" / "nvml_recordings"
SCENARIOS = (
    ("render", "rtx4090_render_power_capped.json",
     "RTX 4090 export: 10 processes, 3 NVENC sessions, editor + 2 ffmpeg"),
    ("two-gpus", "gtx1070_driver530_two_gpus.json",
     "2x GTX 1070, driver 530, container (unnamed processes)"),
    ("old-driver", "gtx1070ti_old_driver.json",
     "GTX 1070 Ti, driver 418: most calls NOT_SUPPORTED / missing"),
)
#: The readings the collector made before per-process figures were added.
DEVICE_ONLY = {"nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo",
               "nvmlDeviceGetEncoderUtilization", "nvmlDeviceGetDecoderUtilization",
               "nvmlDeviceGetTemperature"}
TARGET_MS = 0.5


def make(doc: dict[str, Any], *, device_only: bool = False,
         count_calls: bool = False) -> tuple[NvidiaGpuCollector, RecordedNvml]:
    if device_only:
        doc = {**doc, "absent": sorted({name for name, _ in RECORDED_CALLS} - DEVICE_ONLY)}
    nvml = RecordedNvml(doc, count_calls=count_calls)
    view = EditorProcessView(main_pids=(), started_at=None, looked_at=0.0, scanned_at=0.0,
                             rescan_interval=60.0, members=nvml.editor_members)
    col = NvidiaGpuCollector(nvml_module=nvml, editor_view=lambda: view,
                             render_active=lambda: bool(doc.get("render_active")))
    return col, nvml


def ms_per_collect(col: NvidiaGpuCollector, n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        col.collect()
    return (time.perf_counter_ns() - start) / n / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few hundred collections, for CI")
    args = ap.parse_args(argv)
    rounds, n = (3, 50) if args.quick else (7, 3000)

    print("# GPU collector cost per collection, recorded NVML answers (no GPU on this machine)")
    for line in machine_details():
        print(f"# {line}")
    print(f"# {rounds} rounds x {n} collections, full and device-only alternating")
    print(f"{'scenario':<11} {'full ms':>8} {'device ms':>9} {'added ms':>8} "
          f"{'NVML calls':>10} {'series':>6}  first ms  recording")
    for key, file, what in SCENARIOS:
        doc = load_recording(RECORDINGS / file)
        full, _ = make(doc)
        base, _ = make(doc, device_only=True)
        cold = time.perf_counter_ns()
        series = len(full.collect())  # the first: every process name read once
        first_ms = (time.perf_counter_ns() - cold) / 1e6
        counted, nvml = make(doc, count_calls=True)
        counted.collect()
        before = sum(nvml.calls.values())
        counted.collect()
        calls = sum(nvml.calls.values()) - before
        for col in (full, base):
            ms_per_collect(col, max(5, n // 10))  # warm-up
        fulls: list[float] = []
        bases: list[float] = []
        for _ in range(rounds):
            fulls.append(ms_per_collect(full, n))
            bases.append(ms_per_collect(base, n))
        added = [f - b for f, b in zip(fulls, bases, strict=True)]
        print(f"{key:<11} {statistics.median(fulls):8.3f} {statistics.median(bases):9.3f} "
              f"{statistics.median(added):8.3f} {calls:>10} {series:>6}  {first_ms:7.3f}  "
              f"{what}")
        print(ratio_record(f"gpu collector added ms per collection / {TARGET_MS} ({key})",
                           [a / TARGET_MS for a in added], op="<=", target=1.0))
        for col in (full, base, counted):
            col.close()
    print("# not measured here: the driver's own time per NVML call; see docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

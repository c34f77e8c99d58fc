"""OTLP/HTTP ingest throughput: spans/s and metric data points/s into our receiver,
with the real Python SDK exporters (``opentelemetry-exporter-otlp-proto-http``) as senders.

Method. The receiver (``OtlpReceiver`` with the local trace store, as configured by default)
runs in this process; every sender is its own process (its CPU is not ours):

* spans: ``OTLPSpanExporter`` exports the same batch of 512 SDK spans (4 attributes and an
  event each) to ``/v1/traces`` over and over; configurations of 1 and 2 sender processes;
* data points: ``OTLPMetricExporter`` exports one ``MetricsData`` collected from a
  ``MeterProvider`` + ``InMemoryMetricReader`` to ``/v1/metrics`` over and over: 500 data
  points with attributes (counters, an up-down counter, a gauge, a histogram), mostly on
  the design document's application metrics, so the sink's renaming and re-bucketing paths run.

Each sender first exports once untimed (the connection, the receiver's lazy protobuf
import and stores, name resolution), reports ready and waits; the timed window opens when
every sender is told to go and closes when all are done (and, with ``--forward``, the
forward queue is flushed). The rounds alternate between configurations (default 3 rounds).

Measured per configuration (median, min, max over the rounds): items/s over wall time as
the senders measure it (all items / the slowest sender's time), the receiver's CPU per item
(``time.process_time`` of this process over the window: every receiver thread), and items
per receiver CPU-second. Targets: >= 20,000 spans/s, read two ways: the
end-to-end rate with the Python SDK as sender (usually the sender is the bottleneck, so 2
senders are also run), and spans per receiver CPU-second ("on one core"). Data points have
no stated target; their lines are scaled by the same 20,000 for comparison.

Run: ``python bench/bench_ingest.py [--quick] [--rounds N] [--senders 1,2] [--gzip]
[--forward]``. ``--quick`` is one short round of each configuration, for CI. ``--gzip``
compresses request bodies; ``--forward`` also forwards every trace request to a File trace
exporter (in a temp dir). Prints; never asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line
from run_all import ratio_record

SPAN_TARGET = 20_000
SPANS_PER_BATCH = 512

# Both senders: argv = endpoint, exports, gzip (0/1); build the payload, export once
# (warm-up), print "ready", wait for a line on stdin, export N times, print the result.
_SENDER_TAIL = r"""
assert exporter.export(payload).name == "SUCCESS", "warm-up export failed"
print("ready", flush=True)
sys.stdin.readline()
start = time.perf_counter()
ok = 0
for _ in range(exports):
    ok += exporter.export(payload).name == "SUCCESS"
elapsed = time.perf_counter() - start
print(json.dumps({"ok": ok, "items": items, "elapsed": elapsed}), flush=True)
"""

SPAN_SENDER = r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult, SimpleSpanProcessor

endpoint, exports, gzip = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
batch_size = int(sys.argv[4])

class Keep(SpanExporter):
    spans = []
    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

keep = Keep()
tp = TracerProvider(resource=Resource({"service.name": "timeline-studio"}), shutdown_on_exit=False)
tp.add_span_processor(SimpleSpanProcessor(keep))
tracer = tp.get_tracer("bench")
for i in range(batch_size):
    with tracer.start_as_current_span("video_render") as s:
        s.set_attribute("video_id", str(i)); s.set_attribute("codec", "h264")
        s.set_attribute("frames", 3600); s.add_event("encoding_start")
exporter = OTLPSpanExporter(endpoint=endpoint,
                            compression=Compression.Gzip if gzip else Compression.NoCompression)
payload = list(keep.spans)
items = len(payload)
""" + _SENDER_TAIL

METRIC_SENDER = r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

endpoint, exports, gzip = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"

reader = InMemoryMetricReader()
mp = MeterProvider(
    resource=Resource({"service.name": "timeline-studio", "service.instance.id": "bench",
                       "host.name": "workstation"}),
    metric_readers=[reader], shutdown_on_exit=False)
meter = mp.get_meter("timeline-studio.bench")
frames = meter.create_counter("frames_processed", unit="{frame}")
requests = meter.create_counter("api.requests", unit="{request}")
queue = meter.create_up_down_counter("queue_size", unit="{task}")
speed = meter.create_gauge("encoding.speed", unit="{frame}/s")
duration = meter.create_histogram("frame.processing.duration", unit="ms")
for c, codec in enumerate(("h264", "hevc", "prores", "av1")):
    for track in range(25):  # 100 series each of frames, speed and duration
        attrs = {"codec": codec, "track": str(track)}
        frames.add(1000 * (c + 1) + track, attrs)
        speed.set(24.0 + track / 10, attrs)
        for k in range(8):
            duration.record(2.5 * (k + 1) + track % 7, attrs)
for e in range(20):  # 100 series
    for status in ("200", "201", "400", "404", "500"):
        requests.add(10 + e, {"endpoint": f"/api/v1/projects/{e}", "status": status})
for q in range(10):  # 100 series
    for w in range(10):
        queue.add(q + w, {"queue": f"render-{q}", "worker": str(w)})
payload = reader.get_metrics_data()
items = sum(len(m.data.data_points) for rm in payload.resource_metrics
            for sm in rm.scope_metrics for m in sm.metrics)
exporter = OTLPMetricExporter(endpoint=endpoint,
                              compression=Compression.Gzip if gzip else Compression.NoCompression)
""" + _SENDER_TAIL


class SenderFailed(RuntimeError):
    """A sender process exited or answered badly; the message holds its stderr."""


@dataclass(frozen=True)
class Round:
    """One timed window of one configuration."""

    items: int  # spans or data points exported successfully, all senders
    elapsed_s: float  # the slowest sender's timed wall time
    cpu_s: float  # this process's CPU over the window (the receiver's threads)

    @property
    def rate(self) -> float:
        return self.items / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def cpu_us_per_item(self) -> float:
        return self.cpu_s / max(1, self.items) * 1e6

    @property
    def per_cpu_s(self) -> float:
        return self.items / max(self.cpu_s, 1e-9)


def run_round(script: str, argv: Sequence[str], senders: int, workdir: Path,
              after: Callable[[], object] | None = None) -> Round:
    """Start ``senders`` processes, wait until each is warm, time them together."""
    procs: list[subprocess.Popen[str]] = []
    errs: list[Path] = []
    try:
        for _ in range(senders):
            err = Path(tempfile.mkstemp(dir=workdir, suffix=".err")[1])
            errs.append(err)
            with err.open("w") as err_file:
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", script, *argv], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=err_file, text=True))
        for p, err in zip(procs, errs, strict=True):
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":  # blocks until warm (or dead)
                p.wait(60)
                raise SenderFailed(f"sender exited {p.returncode}:\n{err.read_text()}")
        cpu0 = time.process_time()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        if after is not None:
            after()
        cpu = time.process_time() - cpu0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    results = []
    for p, out, err in zip(procs, outputs, errs, strict=True):
        if p.returncode != 0 or not out.strip():
            raise SenderFailed(f"sender exited {p.returncode}:\n{err.read_text()}")
        results.append(json.loads(out))
    return Round(items=sum(r["ok"] * r["items"] for r in results),
                 elapsed_s=max(r["elapsed"] for r in results), cpu_s=cpu)


def _med(values: Sequence[float]) -> float:
    return statistics.median(values)


def _span_label(n: int) -> str:
    return f"{n} sender{'s' if n != 1 else ''}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one short round of each, for CI")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gzip", action="store_true", help="gzip request bodies")
    ap.add_argument("--forward", action="store_true", help="also forward to a File exporter")
    ap.add_argument("--senders", default="1,2",
                    help="span sender process counts to run, comma-separated (default 1,2)")
    args = ap.parse_args(argv)
    span_exports, metric_exports = (10, 10) if args.quick else (120, 120)
    rounds = 1 if args.quick else max(1, args.rounds)
    configs = sorted({max(1, int(x)) for x in args.senders.split(",") if x.strip()})
    gzip = "1" if args.gzip else "0"

    from timeline_telemetry.delivery import QueuedExporter
    from timeline_telemetry.ingest import OtlpReceiver, TraceStore
    from timeline_telemetry.metrics import Metrics
    from timeline_telemetry.tracing import JsonLinesSender, TraceExporters

    print(machine_line())
    mode = ("gzip" if args.gzip else "plain") + (" + File forward" if args.forward else "")
    print(f"# receiver in this process, protobuf ({mode}); {rounds} round(s); spans: "
          f"{span_exports} exports of {SPANS_PER_BATCH} per sender; data points: "
          f"{metric_exports} exports of one 500-point batch")
    spans: dict[int, list[Round]] = {n: [] for n in configs}
    points: list[Round] = []
    metrics = Metrics()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        forward = TraceExporters()
        if args.forward:
            forward = TraceExporters([QueuedExporter(
                JsonLinesSender(workdir / "traces.jsonl", max_bytes=1 << 30, backups=0),
                metrics=metrics)])
            forward.start()
        rec = OtlpReceiver(metrics=metrics, port=0, trace_store=TraceStore(max_traces=1000),
                           trace_exporters=forward)
        rec.start()
        flush = (lambda: forward.force_flush(timeout_s=600)) if args.forward else None
        try:
            for r in range(rounds):
                for n in configs:
                    res = run_round(SPAN_SENDER, [f"{rec.endpoint}/v1/traces", str(span_exports),
                                                  gzip, str(SPANS_PER_BATCH)], n, workdir, flush)
                    spans[n].append(res)
                    print(f"round {r + 1}, spans, {_span_label(n)}: {res.rate:,.0f} spans/s; "
                          f"receiver {res.cpu_us_per_item:.1f} us CPU per span", flush=True)
                res = run_round(METRIC_SENDER, [f"{rec.endpoint}/v1/metrics",
                                                str(metric_exports), gzip], 1, workdir)
                points.append(res)
                print(f"round {r + 1}, data points, 1 sender: {res.rate:,.0f} points/s; "
                      f"receiver {res.cpu_us_per_item:.1f} us CPU per point", flush=True)
        except SenderFailed as exc:
            print(f"bench_ingest: {exc}", file=sys.stderr)
            return 1
        finally:
            rec.shutdown(5.0)
            forward.shutdown(timeout_s=5.0)
    rejected = sum(metrics.current_values("telemetry_otlp_rejected_items_total"))

    print(f"{'median over rounds':<28}{'items/s':>12}{'receiver CPU us/item':>22}"
          f"{'items per receiver CPU-s':>26}")
    rows = [(f"spans, {_span_label(n)}", spans[n]) for n in configs]
    rows.append(("data points, 1 sender", points))
    for label, rs in rows:
        print(f"{label:<28}{_med([x.rate for x in rs]):>12,.0f}"
              f"{_med([x.cpu_us_per_item for x in rs]):>22.1f}"
              f"{_med([x.per_cpu_s for x in rs]):>26,.0f}")
    print(f"(targets: >= {SPAN_TARGET:,} spans/s end to end, and >= {SPAN_TARGET:,} "
          "spans per receiver CPU-second = on one core; the Python SDK sender is usually the "
          "bottleneck end to end)")
    if args.forward:
        dropped = sum(metrics.current_values("telemetry_trace_spans_dropped_total"))
        total = sum(x.items for n in configs for x in spans[n])
        print(f"File forward: {dropped:,.0f} of {total:,} spans dropped by the forward queue "
              "(a dropped span costs no encoding)")
    if rejected:
        print(f"warning: the receiver rejected {rejected:,.0f} data points (partial success)")
    for n in configs:
        print(ratio_record(f"ingest spans/s / {SPAN_TARGET} ({_span_label(n)})",
                           [x.rate / SPAN_TARGET for x in spans[n]], op=">=", target=1))
    all_spans = [x for n in configs for x in spans[n]]
    print(ratio_record(f"ingest spans per receiver CPU-second / {SPAN_TARGET}",
                       [x.per_cpu_s / SPAN_TARGET for x in all_spans], op=">=", target=1))
    print(ratio_record(f"ingest data points/s / {SPAN_TARGET} (1 sender, no target)",
                       [x.rate / SPAN_TARGET for x in points]))
    print(ratio_record(f"ingest data points per receiver CPU-second / {SPAN_TARGET} "
                       "(no target)", [x.per_cpu_s / SPAN_TARGET for x in points]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""OTLP receiver throughput: spans per second of protobuf, with the real Python SDK exporter
(``opentelemetry-exporter-otlp-proto-http``'s ``OTLPSpanExporter``) as the sender.

The sender runs in its own process (its CPU is not ours) and exports the same batch of SDK
spans over and over; the receiver runs here with the local trace store, as configured by
default. Reported: spans/s over wall time, and spans per CPU-second of this process (the
receiver's cost on one core). Target (issue 4): >= 20,000 spans/s.

Run: ``python bench/bench_ingest.py [--quick] [--gzip] [--forward]``. Prints; never asserts.
``--forward`` also forwards every request to a File trace exporter (in a temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line

SENDER = r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult, SimpleSpanProcessor

endpoint, batch_size, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gzip = sys.argv[4] == "1"

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
batch = list(keep.spans)
assert exporter.export(batch).name == "SUCCESS"  # warm-up (connection, imports)
start = time.perf_counter()
ok = 0
for _ in range(batches):
    ok += exporter.export(batch).name == "SUCCESS"
elapsed = time.perf_counter() - start
print(json.dumps({"ok": ok, "elapsed": elapsed}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a short run, for CI")
    ap.add_argument("--gzip", action="store_true", help="gzip request bodies")
    ap.add_argument("--forward", action="store_true", help="also forward to a File exporter")
    ap.add_argument("--senders", type=int, default=1, help="sender processes in parallel")
    args = ap.parse_args(argv)
    batch_size, batches = (512, 10) if args.quick else (512, 120)

    from timeline_telemetry.ingest import OtlpReceiver, TraceStore
    from timeline_telemetry.metrics import Metrics
    from timeline_telemetry.tracing import JsonLinesSender, QueuedExporter, TraceExporters

    metrics = Metrics()
    with tempfile.TemporaryDirectory() as tmp:
        forward = TraceExporters()
        if args.forward:
            forward = TraceExporters([QueuedExporter(
                JsonLinesSender(Path(tmp) / "traces.jsonl", max_bytes=1 << 30, backups=0),
                metrics=metrics)])
            forward.start()
        rec = OtlpReceiver(metrics=metrics, port=0, trace_store=TraceStore(max_traces=1000),
                           trace_exporters=forward)
        rec.start()
        try:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            procs = [subprocess.Popen(
                [sys.executable, "-c", SENDER, f"{rec.endpoint}/v1/traces", str(batch_size),
                 str(batches), "1" if args.gzip else "0"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
            ) for _ in range(max(1, args.senders))]
            outputs = [p.communicate(timeout=600) for p in procs]
            if args.forward:
                forward.force_flush(timeout_s=600)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        finally:
            rec.shutdown(5.0)
            forward.shutdown(timeout_s=5.0)
    for p, (_, err) in zip(procs, outputs, strict=True):
        if p.returncode != 0:
            print(err, file=sys.stderr)
            return 1
    results = [json.loads(out) for out, _ in outputs]
    requests = sum(r["ok"] for r in results)
    spans = requests * batch_size
    elapsed = max(r["elapsed"] for r in results)
    print(machine_line())
    mode = ("gzip" if args.gzip else "plain") + (" + File forward" if args.forward else "")
    print(f"receiver, protobuf ({mode}), {requests} requests of {batch_size} spans from "
          f"{len(results)} sender process(es)")
    print(f"  sender-measured throughput     {spans / elapsed:>10,.0f} spans/s "
          f"(target >= 20,000; the Python SDK sender is usually the bottleneck)")
    print(f"  receiver CPU per span          {cpu / max(1, spans) * 1e6:>10.1f} us "
          f"(= {spans / max(cpu, 1e-9):,.0f} spans per CPU-second on one core; the run's "
          f"wall time was {wall:.2f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Metrics hot path: our ``increment_counter`` with 3 attributes versus prometheus-client's
``.labels(...).inc()`` and the OpenTelemetry SDK's ``counter.add`` with 3 attributes,
measured in the same run, alternating, several rounds.

Targets: ours <= 1.0x prometheus-client, and OTel SDK >= 4x ours.
Run: ``python bench/bench_metrics.py [--quick]``. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, machine_line, ratio_line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few thousand calls, for CI")
    args = ap.parse_args(argv)
    rounds, n = (3, 2_000) if args.quick else (7, 200_000)

    import prometheus_client
    from opentelemetry.sdk.metrics import MeterProvider

    from timeline_telemetry.metrics import Metrics

    attrs = {"method": "POST", "endpoint": "/render", "status": "success"}
    ours = Metrics()
    inc = ours.increment_counter

    reg = prometheus_client.CollectorRegistry()
    pc = prometheus_client.Counter(
        "api_requests", "API requests.", ["method", "endpoint", "status"], registry=reg
    )
    pc_plain = prometheus_client.Counter("videos_processed", "Videos.", registry=reg)

    provider = MeterProvider()
    otel = provider.get_meter("bench").create_counter("api_requests_total")

    cases = {
        "ours 3 attrs": lambda: inc("api_requests_total", 1, attrs),
        "prometheus-client labels().inc()": lambda: pc.labels(
            method="POST", endpoint="/render", status="success"
        ).inc(),
        "otel sdk add 3 attrs": lambda: otel.add(1, attrs),
        "ours no attrs": lambda: inc("videos_processed_total"),
        "prometheus-client inc()": pc_plain.inc,
    }
    res = interleaved(cases, rounds=rounds, n=n)
    provider.shutdown()

    print(f"# metrics hot path ({rounds} rounds x {n} calls) — {machine_line()}")
    from importlib.metadata import version

    print(
        f"# prometheus-client {version('prometheus-client')}, "
        f"opentelemetry-sdk {version('opentelemetry-sdk')}"
    )
    for name, values in res.items():
        print(f"{name:<40} median {statistics.median(values):8.0f} ns/call")
    print(
        ratio_line(
            "ours 3 attrs / prometheus-client labels().inc() (<= 1.0)",
            res["ours 3 attrs"],
            res["prometheus-client labels().inc()"],
        )
    )
    print(
        ratio_line(
            "otel sdk add 3 attrs / ours 3 attrs (>= 4.0)",
            res["otel sdk add 3 attrs"],
            res["ours 3 attrs"],
        )
    )
    print(
        ratio_line(
            "ours no attrs / prometheus-client inc()",
            res["ours no attrs"],
            res["prometheus-client inc()"],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A real Prometheus server scrapes the exporter; values are read back through its HTTP API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support import PrometheusServer, sample_metrics, wait_for
from timeline_telemetry.export.prometheus import PrometheusExporter

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


def test_prometheus_scrapes_our_values(
    prometheus: Callable[[list[str]], PrometheusServer],
) -> None:
    metrics = sample_metrics()
    exp = PrometheusExporter(snapshot_source=metrics.snapshot, port=0, enable_compression=True)
    exp.start()
    try:
        prom = prometheus([f"127.0.0.1:{exp.server.bound_port}"])

        def value(expr: str) -> float | None:
            return prom.value(expr)

        wait_for(lambda: value('up{job="timeline"}') == 1.0, timeout=30,
                 what=f"a successful scrape (log: {prom.log})")
        assert value('api_requests_total{endpoint="/render",status="200"}') == 3.0
        assert value('api_requests_total{endpoint="/render",status="500"}') == 1.0
        assert value("exports_started_total") == 2.0
        assert value('queue_size{queue="render"}') == 7.0
        assert value("system_swap_total_bytes") == 123456789.0
        assert value("frame_processing_duration_ms_count") == 4.0
        assert value("frame_processing_duration_ms_sum") == 744.0
        assert value('frame_processing_duration_ms_bucket{le="25.0"}') == 3.0
        assert value('frame_processing_duration_ms_bucket{le="+Inf"}') == 4.0
        median = value("histogram_quantile(0.5, frame_processing_duration_ms_bucket)")
        assert median is not None and 10.0 <= median <= 25.0

        # Types as Prometheus understood them (it asked for OpenMetrics, with gzip).
        meta = prom.api("/api/v1/metadata")["data"]
        assert meta["system_swap_total_bytes"][0]["type"] == "gauge"
        assert meta["api_requests"][0]["type"] == "counter"
        assert meta["frame_processing_duration_ms"][0]["type"] == "histogram"

        # Pull model: a new value shows up at a later scrape.
        metrics.set_gauge("system_swap_total_bytes", 987654321)
        wait_for(lambda: value("system_swap_total_bytes") == 987654321.0, timeout=30,
                 what="the new gauge value")
        assert exp.scrape_count >= 2
        assert str(exp.status()) == "Healthy"
    finally:
        exp.shutdown(timeout_s=5)

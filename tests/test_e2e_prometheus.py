"""A real Prometheus server scrapes the real agent process; values come back through its API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psutil

from agent_process import AgentProcess
from support import PrometheusServer, wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"


def test_prometheus_scrapes_the_agent(
    tmp_path: Path, app_home: Path, prometheus: Callable[[list[str]], PrometheusServer]
) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {"metrics": {
        "collection_interval": "1s",
        "exporters": [{"Prometheus": {"port": 0, "enable_compression": True}}],
    }, "ingest": {"otlp": {"port": 0}}}}))
    agent = AgentProcess("--config", str(cfg), home=app_home)
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        prom = prometheus([f"127.0.0.1:{port}"])
        total = wait_for(lambda: prom.value("system_memory_total_bytes"), timeout=60,
                         what="system_memory_total_bytes in Prometheus")
        assert total == psutil.virtual_memory().total
        up = wait_for(lambda: prom.value('up{job="timeline"}'), timeout=30, what="up")
        assert up == 1.0
        cpu = prom.value("system_cpu_usage_percent")
        assert cpu is not None and 0.0 <= cpu <= 100.0
        disks = prom.query('system_disk_available_bytes{mountpoint="/"}')
        assert len(disks) == 1 and float(disks[0]["value"][1]) > 0
        rss = prom.value("telemetry_agent_memory_rss_bytes")
        assert rss is not None and 5e6 < rss < 500e6
    finally:
        assert agent.stop() == 0

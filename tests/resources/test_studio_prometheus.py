"""The studio path end to end: three real agents on one machine, found by a real Prometheus
through the shipped ``file_sd`` job, each scraped with its file_sd labels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_process import AgentProcess
from support import PrometheusServer, wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"
JOB = "timeline-workstations"


@pytest.mark.prometheus
@pytest.mark.slow
def test_prometheus_scrapes_three_agents_through_file_sd(
    tmp_path: Path, studio_prometheus: Callable[[str], PrometheusServer]
) -> None:
    agents: list[AgentProcess] = []
    try:
        for i in range(3):
            home = tmp_path / f"ws{i}"
            home.mkdir()
            cfg = home / "config.json"
            cfg.write_text(json.dumps({"telemetry": {
                "metrics": {"collection_interval": "1s",
                            "exporters": [{"Prometheus": {"port": 0}}]},
                "ingest": {"otlp": {"port": 0}},
                "health": {"checks": []},
            }}))
            agents.append(AgentProcess("--config", str(cfg), home=home))
        ports = [int(a.wait_for_line(SERVING).group(1)) for a in agents]
        assert len(set(ports)) == 3
        file_sd = json.dumps([
            {"targets": [f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"],
             "labels": {"room": "suite-a"}},
            {"targets": [f"127.0.0.1:{ports[2]}"], "labels": {"room": "suite-b"}},
        ])
        prom = studio_prometheus(file_sd)

        def all_up() -> list[dict[str, object]] | None:
            result = prom.query(f'up{{job="{JOB}"}} == 1')
            return result if len(result) == 3 else None

        up = wait_for(all_up, timeout=60, what="three agents up in Prometheus")
        instances = {r["metric"]["instance"]: r["metric"]["room"] for r in up}  # type: ignore[index]
        assert instances == {f"127.0.0.1:{ports[0]}": "suite-a",
                             f"127.0.0.1:{ports[1]}": "suite-a",
                             f"127.0.0.1:{ports[2]}": "suite-b"}
        mem = wait_for(
            lambda: prom.value(f'count(system_memory_total_bytes{{job="{JOB}"}})') or None,
            timeout=30, what="system_memory_total_bytes from every agent")
        assert mem == 3.0
        by_room = prom.query(f'count by (room) (telemetry_agent_memory_rss_bytes{{job="{JOB}"}})')
        assert {r["metric"]["room"]: r["value"][1] for r in by_room} == {"suite-a": "2",
                                                                        "suite-b": "1"}
    finally:
        for a in agents:
            assert a.stop() == 0

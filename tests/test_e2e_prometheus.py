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


def _keys(obj: object) -> object:
    """The shape of a JSON value: dict keys (recursively), list of the first item's shape."""
    if isinstance(obj, dict):
        return {k: _keys(v) for k, v in obj.items() if k not in ("labels", "annotations")}
    if isinstance(obj, list):
        return [_keys(obj[0])] if obj else []
    return type(obj).__name__


def test_alerts_and_rules_api_answer_as_prometheus_does(tmp_path: Path, app_home: Path) -> None:
    """The same rule file in the agent and in a real Prometheus scraping it: the agent's
    /api/v1/alerts and /api/v1/rules have Prometheus's fields, types and alert."""
    import urllib.request

    import pytest

    from support import PROMETHEUS, start_prometheus

    if PROMETHEUS is None:
        pytest.skip("needs the Debian 'prometheus' package (apt-get install prometheus)")
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: parity\n    rules:\n"
        "      - alert: MemoryInUse\n        expr: system_memory_usage_bytes > 0\n"
        "        labels: {severity: warning}\n        annotations: {summary: in use}\n"
        "      - record: job:memory:used\n        expr: system_memory_usage_bytes\n")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": [{"Prometheus": {"port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "alerts": {"rule_files": [str(rules)], "evaluation_interval": "1s"}}}))
    agent = AgentProcess("--config", str(cfg), home=app_home)
    proc = None
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        pcfg = tmp_path / "prometheus.yml"
        pcfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: [{json.dumps(str(rules))}]\n"
            "scrape_configs:\n  - job_name: timeline\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        prom, proc = start_prometheus(pcfg, tmp_path)

        def get(base: str, path: str) -> dict[str, object]:
            with urllib.request.urlopen(f"{base}/api/v1/{path}", timeout=5) as r:
                body: dict[str, object] = json.loads(r.read())
                return body

        def firing(base: str) -> dict[str, object] | None:
            alerts = get(base, "alerts")["data"]["alerts"]  # type: ignore[index]
            return alerts[0] if alerts and alerts[0]["state"] == "firing" else None

        ours_url = f"http://127.0.0.1:{port}"
        theirs = wait_for(lambda: firing(prom.url), timeout=60, what="Prometheus's alert")
        ours = wait_for(lambda: firing(ours_url), timeout=30, what="our alert")
        assert _keys(ours) == _keys(theirs)
        mine = dict(ours["labels"])  # type: ignore[call-overload]
        assert mine == {"alertname": "MemoryInUse", "severity": "warning"}
        assert set(mine) <= set(theirs["labels"])  # type: ignore[arg-type]
        r_ours = get(ours_url, "rules")
        r_theirs = get(prom.url, "rules")
        assert r_ours["status"] == r_theirs["status"] == "success"
        g_ours = r_ours["data"]["groups"][0]  # type: ignore[index]
        g_theirs = r_theirs["data"]["groups"][0]  # type: ignore[index]
        assert set(g_theirs) <= set(g_ours)
        for ro, rt in zip(g_ours["rules"], g_theirs["rules"], strict=True):
            missing = set(rt) - set(ro)
            assert not missing, (rt["type"], missing)
            assert (ro["name"], ro["type"], ro["health"]) == (rt["name"], rt["type"], "ok")
            if rt["type"] == "alerting":
                assert ro["state"] == rt["state"] == "firing"
                assert _keys(ro["alerts"]) == _keys(rt["alerts"])
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(30)
        assert agent.stop() == 0

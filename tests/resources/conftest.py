"""Fixtures for the studio-stack resources: paths, and a real Prometheus started from the
shipped ``resources/prometheus/prometheus.yml`` (scrape intervals shortened for tests)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from studio_resources import RESOURCES

from support import PROMETHEUS, PrometheusServer, start_prometheus


@pytest.fixture
def studio_prometheus(tmp_path: Path) -> Iterator[Callable[[str], PrometheusServer]]:
    """``start(file_sd_json)``: the shipped config in a scratch folder, its ``file_sd``
    folder holding ``workstations.json`` = ``file_sd_json``, served by a real Prometheus."""
    if PROMETHEUS is None:
        pytest.skip("needs the Debian 'prometheus' package (apt-get install prometheus)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(file_sd_json: str) -> PrometheusServer:
        root = tmp_path / "prom"
        (root / "file_sd").mkdir(parents=True)
        cfg = yaml.safe_load((RESOURCES / "prometheus" / "prometheus.yml").read_text())
        cfg["global"]["scrape_interval"] = "1s"
        cfg["global"]["evaluation_interval"] = "1s"
        for job in cfg["scrape_configs"]:
            job["scrape_interval"] = "1s"
            job["scrape_timeout"] = "1s"
        cfg.pop("alerting", None)  # no Alertmanager here
        rules = RESOURCES / "prometheus" / "alert_rules.yml"
        if rules.exists():
            shutil.copy(rules, root / "alert_rules.yml")
        else:
            cfg.pop("rule_files", None)
        (root / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        (root / "file_sd" / "workstations.json").write_text(file_sd_json)
        server, proc = start_prometheus(root / "prometheus.yml", tmp_path, cwd=root)
        procs.append(proc)
        return server

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

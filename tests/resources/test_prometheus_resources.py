"""The studio Prometheus files: ``promtool check config`` (which also checks the rules it
loads), ``amtool check-config``, and a file_sd example Prometheus can read."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from studio_resources import RESOURCES

PROM_DIR = RESOURCES / "prometheus"


@pytest.mark.prometheus
def test_promtool_accepts_the_studio_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("needs promtool (apt-get install prometheus)")
    proc = subprocess.run([promtool, "check", "config", str(PROM_DIR / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_the_config_has_the_seed_job_and_a_file_sd_job() -> None:
    cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["timeline-studio"]["static_configs"][0]["targets"] == ["timeline-studio:9090"]
    (files,) = jobs["timeline-workstations"]["file_sd_configs"]
    assert files["files"] == ["file_sd/*.json"]
    assert cfg["rule_files"] == ["alert_rules.yml"]


def test_file_sd_example_is_a_valid_target_list() -> None:
    groups = json.loads((PROM_DIR / "file_sd" / "workstations.example.json").read_text())
    assert groups and all(
        isinstance(g["targets"], list) and all(":" in t for t in g["targets"])
        and all(isinstance(v, str) for v in g.get("labels", {}).values())
        for g in groups
    )


def test_amtool_accepts_the_alertmanager_example() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("needs amtool (apt-get install prometheus-alertmanager)")
    proc = subprocess.run([amtool, "check-config", str(PROM_DIR / "alertmanager.yml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_mounts_files_that_exist() -> None:
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    assert {"prometheus", "grafana", "jaeger", "alertmanager", "timeline-studio"} <= set(
        compose["services"])
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("./") and "secrets" not in src:
                assert (RESOURCES / src).exists(), f"{name}: {src} is missing"
    jaeger_env = compose["services"]["jaeger"]["environment"]
    assert "COLLECTOR_OTLP_ENABLED=true" in jaeger_env

"""The studio Prometheus files: ``promtool check config`` (which also checks the rules it
loads), ``amtool check-config``, and a file_sd example Prometheus can read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from studio_resources import RESOURCES

from timeline_telemetry.config.schema import OtlpIngestConfig, PrometheusExporterConfig

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


def test_the_config_scrapes_the_docker_host_and_the_file_sd_workstations() -> None:
    cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert set(jobs) == {"timeline-telemetry-host", "timeline-workstations"}
    port = PrometheusExporterConfig().port
    assert port != 9090, "the monitor's default must not be the Prometheus server's port"
    host = jobs["timeline-telemetry-host"]
    assert host["static_configs"][0]["targets"] == [f"host.docker.internal:{port}"]
    (files,) = jobs["timeline-workstations"]["file_sd_configs"]
    assert files["files"] == ["file_sd/*.json"]
    # relayed editor series keep `instance` = the scraped workstation (see the comment)
    assert all(j["honor_labels"] is False for j in jobs.values())
    assert cfg["rule_files"] == ["alert_rules.yml"]
    assert cfg["storage"]["tsdb"]["out_of_order_time_window"]


def test_no_static_job_points_at_a_service_compose_does_not_always_run() -> None:
    """The design document's ``timeline-studio:9090`` job was down unless a profile ran."""
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    optional = {n for n, s in compose["services"].items() if s.get("profiles")}
    cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    for job in cfg["scrape_configs"]:
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                assert target.split(":")[0] not in optional, (job["job_name"], target)


def test_file_sd_example_is_a_valid_target_list() -> None:
    groups = json.loads((PROM_DIR / "file_sd" / "workstations.example.json").read_text())
    port = str(PrometheusExporterConfig().port)
    assert all(t.rsplit(":", 1)[1] == port for g in groups for t in g["targets"])
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
    assert {"prometheus", "grafana", "jaeger", "alertmanager", "timeline-studio",
            "elasticsearch", "logstash", "kibana"} <= set(compose["services"])
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if src.startswith("./") and "secrets" not in src:
                assert (RESOURCES / src).exists(), f"{name}: {src} is missing"


def _image(compose: dict[str, Any], service: str) -> tuple[str, str]:
    name, _, tag = compose["services"][service]["image"].rpartition(":")
    return name, tag


def _version(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in tag.lstrip("v").split("."))


def test_compose_images_are_current_and_pinned() -> None:
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    for service, svc in compose["services"].items():
        if svc.get("profiles"):
            continue  # the design document's own editor image
        name, tag = _image(compose, service)
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{service}: {tag!r} is not pinned"
        assert "." not in name.split("/")[0], f"{service}: name the image, not a registry"
    assert _image(compose, "jaeger")[0] == "jaegertracing/jaeger"  # v2, not all-in-one (v1)
    assert _version(_image(compose, "jaeger")[1])[0] == 2
    assert _version(_image(compose, "prometheus")[1])[0] == 3
    assert _version(_image(compose, "grafana")[1])[0] >= 12
    assert _version(_image(compose, "alertmanager")[1]) >= (0, 28)
    elastic = {_image(compose, s)[1] for s in ("elasticsearch", "logstash", "kibana")}
    assert len(elastic) == 1 and _version(elastic.pop())[:2] >= (8, 19)


def test_compose_ports_do_not_clash_with_a_monitor_on_the_same_machine() -> None:
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    published = {int(str(p).split(":")[0]) for s in compose["services"].values()
                 for p in s.get("ports", [])}
    monitor = {PrometheusExporterConfig().port, OtlpIngestConfig().port}
    assert not published & monitor
    jaeger = {str(p) for p in compose["services"]["jaeger"]["ports"]}
    assert {"14317:4317", "14318:4318"} <= jaeger  # OTLP straight into Jaeger v2
    assert not any(p.endswith((":14268", ":14250")) for p in jaeger)  # v1's dead ports
    prom = compose["services"]["prometheus"]
    assert "host.docker.internal:host-gateway" in prom["extra_hosts"]
    assert "--web.enable-remote-write-receiver" in prom["command"]


def test_logstash_reads_the_ecs_file_from_the_mounted_log_folder() -> None:
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    mounts = [v.rsplit(":", 2) for v in compose["services"]["logstash"]["volumes"]]
    targets = {m[1]: m[0] for m in mounts if len(m) == 3}
    pipeline = RESOURCES / "logstash" / "pipeline"
    assert targets["/usr/share/logstash/pipeline"] == "./logstash/pipeline"
    log_dir = next(t for t, src in targets.items() if "timeline-telemetry/log" in src)
    (conf,) = pipeline.glob("*.conf")
    text = conf.read_text()
    assert f'"{log_dir}/timeline-telemetry.ecs.json*"' in text
    assert "codec => json" in text and "hosts => [\"http://elasticsearch:9200\"]" in text
    assert text.count("{") == text.count("}")

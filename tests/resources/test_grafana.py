"""The Grafana dashboards: each type-checks against ``@grafana/schema`` (npm + tsc), every
PromQL expression parses (promql-parser) and names only metrics the monitor exports, and the
provisioning files point where docker-compose mounts them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from studio_resources import RESOURCES

from timeline_telemetry.metrics import DEFAULT_CATALOG, MetricKind

GRAFANA = RESOURCES / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
CHECKER = Path(__file__).parent / "grafana-check"
#: Prometheus' own series a studio dashboard may use besides ours.
PROMETHEUS_SERIES = {"ALERTS", "ALERTS_FOR_STATE", "alerts_firing", "up"}
_GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def exported_names() -> set[str]:
    names = set(PROMETHEUS_SERIES)
    for name, spec in DEFAULT_CATALOG.items():
        names.add(name)
        if spec.kind in (MetricKind.HISTOGRAM, MetricKind.SUMMARY):
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def expressions() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']}", target["expr"]


def metric_names(node: object) -> set[str]:
    kind = type(node).__name__
    if kind == "VectorSelector":
        name = getattr(node, "name", None)
        return {name} if name else set()
    found: set[str] = set()
    for attr in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            found |= metric_names(child)
    for arg in getattr(node, "args", None) or ():
        found |= metric_names(arg)
    return found


def test_there_are_the_six_dashboards() -> None:
    assert {p.stem for p in DASHBOARDS} == {"system-overview", "video-processing", "api",
                                           "cache", "health", "monitor-cost"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


def test_every_expression_parses_and_names_exported_metrics() -> None:
    promql_parser = pytest.importorskip("promql_parser")
    known = exported_names()
    seen: set[str] = set()
    exprs = list(expressions())
    assert len(exprs) > 30
    for where, expr in exprs:
        text = expr
        for var, value in _GRAFANA_VARS.items():
            text = text.replace(var, value)
        assert "$__" not in text, f"{where}: unknown Grafana variable in {expr}"
        try:
            tree = promql_parser.parse(text)
        except Exception as exc:
            pytest.fail(f"{where}: {expr!r} does not parse: {exc}")
        names = metric_names(tree)
        assert names, f"{where}: {expr!r} names no metric"
        unknown = names - known
        assert not unknown, f"{where}: {sorted(unknown)} are not exported by the monitor"
        seen |= names
    assert {"system_cpu_usage_percent", "video_processing_duration_ms_bucket",
            "api_requests_total", "cache_hits_total", "health_check_status",
            "telemetry_agent_cpu_usage_percent"} <= seen


def test_the_metric_walker_finds_names_in_nested_expressions() -> None:
    promql_parser = pytest.importorskip("promql_parser")
    tree = promql_parser.parse(
        "histogram_quantile(0.9, sum by (le) (rate(a_bucket[5m]))) / -(b offset 1m)"
        " + max_over_time(c[10m:1m])")
    assert metric_names(tree) == {"a_bucket", "b", "c"}


@pytest.mark.slow
def test_dashboards_type_check_against_grafana_schema() -> None:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("needs node and npm")
    if not (CHECKER / "node_modules" / "@grafana" / "schema").exists():
        install = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CHECKER,
                                 capture_output=True, text=True, timeout=300, check=False)
        if install.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {install.stderr[-500:]}")
    proc = subprocess.run([node, "check.mjs", str(GRAFANA / "dashboards")], cwd=CHECKER,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"ok: \d+ dashboards", proc.stdout)


def test_provisioning_matches_the_compose_mounts() -> None:
    compose = yaml.safe_load((RESOURCES / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"]
                  if v.startswith("./"))
    prov = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "timeline-telemetry.yml").read_text())
    assert mounts["./grafana/dashboards"] == prov["providers"][0]["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    ds = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"

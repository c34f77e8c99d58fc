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
        if spec.kind is MetricKind.COUNTER and not name.endswith("_total"):
            names.add(f"{name}_total")  # the sample name, as prometheus-client writes it
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
    assert {p.stem for p in DASHBOARDS} >= {"system-overview", "video-processing", "api",
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


def counter_names() -> set[str]:
    """Sample names that are cumulative counters: rate() them, never plot them raw."""
    names: set[str] = set()
    for name, spec in DEFAULT_CATALOG.items():
        if spec.kind is MetricKind.COUNTER:
            names |= {name, name if name.endswith("_total") else f"{name}_total"}
        if spec.kind in (MetricKind.HISTOGRAM, MetricKind.SUMMARY):
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


_RATE_FUNCTIONS = {"rate", "irate", "increase", "resets"}


def raw_counters(node: object, counters: set[str], under_rate: bool = False) -> set[str]:
    """Counter selectors in ``node`` that no rate()/increase() reads."""
    kind = type(node).__name__
    if kind == "VectorSelector":
        name = getattr(node, "name", None)
        return {name} if name in counters and not under_rate else set()
    if kind == "Call":
        under_rate = getattr(node, "func").name in _RATE_FUNCTIONS  # noqa: B009
        found: set[str] = set()
        for arg in getattr(node, "args", None) or ():
            found |= raw_counters(arg, counters, under_rate)
        return found
    found = set()
    for attr in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            found |= raw_counters(child, counters, under_rate and kind == "MatrixSelector")
    return found


def test_counters_are_plotted_as_rates() -> None:
    promql_parser = pytest.importorskip("promql_parser")
    counters = counter_names()
    assert {"system_network_bytes_sent_total", "system_disk_read_bytes_total"} <= counters
    for where, expr in expressions():
        text = expr
        for var, value in _GRAFANA_VARS.items():
            text = text.replace(var, value)
        raw = raw_counters(promql_parser.parse(text), counters)
        assert not raw, f"{where}: {sorted(raw)} plotted without rate(): {expr}"


def test_the_rate_check_catches_a_raw_counter() -> None:
    promql_parser = pytest.importorskip("promql_parser")
    counters = {"a_total", "b_total"}
    assert raw_counters(promql_parser.parse("a_total + rate(b_total[5m])"), counters) == {
        "a_total"}
    assert raw_counters(promql_parser.parse("max_over_time(b_total[5m])"), counters) == {
        "b_total"}
    assert not raw_counters(promql_parser.parse(
        "sum by (x) (rate(a_total[5m])) / increase(b_total[1h])"), counters)


def test_system_overview_has_rates_for_network_and_latency_per_device() -> None:
    dash = json.loads((GRAFANA / "dashboards" / "system-overview.json").read_text())
    exprs = {p["title"]: [t["expr"] for t in p["targets"]] for p in dash["panels"]}
    assert all("rate(system_network_bytes_" in e and "_total" in e
               for e in exprs["Network throughput"])
    (read, write) = exprs["Disk latency per device"]
    assert read.startswith("rate(system_disk_device_read_time_seconds_total")
    assert "/ rate(system_disk_device_reads_total" in read
    assert "/ rate(system_disk_device_writes_total" in write


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
    assert re.search(r"ok: \d+ dashboards .* schemaVersion \d+", proc.stdout)


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

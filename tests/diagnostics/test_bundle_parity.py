"""The tray's "Export diagnostics bundle" and ``timeline-telemetry bundle`` write the same zip.

One running agent, read once through its local API (the CLI's way, as
:func:`~timeline_telemetry.diagnostics.command.run_bundle_command` reads it) and once in
process (the tray's way): the same files, every JSON file with the same fields, and the same
facts (the firing alert, the failing exporter, the error span).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from bundle_fixtures import fake_run

from support import free_port, wait_for
from timeline_telemetry.config import TelemetryConfig, parse_config
from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.diagnostics.live import (
    agent_api_providers,
    alerts_store_path,
    in_process_providers,
)
from timeline_telemetry.diagnostics.providers import Providers
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.runtime.client import read_live

RULES = ("groups:\n  - name: parity\n    rules:\n      - alert: AlwaysOn\n"
         "        expr: vector(1)\n        labels: {severity: warning}\n")


def _config(tmp_path: Path) -> TelemetryConfig:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    return parse_config({"telemetry": {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "tracing": {"exporters": [{"Otlp": {"endpoint": f"http://127.0.0.1:{free_port()}"}}]},
        "health": {"checks": []},
        "alerts": {"rule_files": [str(rules)], "evaluation_interval": "1h"},
    }}, source="test", base_dir=tmp_path)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[AgentRuntime, AppPaths]]:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    rt = AgentRuntime(_config(tmp_path), paths, mode="tray")
    rt.start()
    yield rt, paths
    rt.stop()


def _bundle(out: Path, rt: AgentRuntime, paths: AppPaths,
            providers: Providers) -> dict[str, bytes]:
    result = build_bundle(config=rt.config, paths=paths, out=out, since_s=600,
                          providers=providers, environ={}, psutil_mod=psutil, run=fake_run,
                          process_sample_s=0.0)
    assert result.path is not None
    with zipfile.ZipFile(result.path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _fields(value: object, depth: int = 0) -> object:
    """The JSON value's keys, two levels deep (what a reader's tool depends on)."""
    if isinstance(value, dict):
        return {k: _fields(v, depth + 1) if depth < 1 else None for k, v in value.items()}
    return type(value).__name__


def test_the_tray_and_the_cli_write_the_same_files_with_the_same_fields(
        tmp_path: Path, agent: tuple[AgentRuntime, AppPaths]) -> None:
    import sys

    from opentelemetry.trace import Status, StatusCode

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
    from sdk_push import sdk_client

    rt, paths = agent
    receiver = rt.manager.receiver
    alerts = rt.manager.alerts
    assert receiver is not None and alerts is not None
    client = sdk_client(receiver.endpoint)
    try:
        tracer = client.tracer_provider.get_tracer("timeline-studio")
        with tracer.start_as_current_span("encode") as span:
            span.set_status(Status(StatusCode.ERROR, "encoder crashed"))
    finally:
        client.shutdown()
    alerts.evaluate()
    wait_for(lambda: any(st.get("last_error") for st in rt.export_status().values()),
             timeout=30, what="the refused exporter's error")
    live = read_live(paths.data_dir)
    assert live is not None and live.error is None
    db = alerts_store_path(rt.config, paths.data_dir)
    cli = _bundle(tmp_path / "cli.zip", rt, paths, agent_api_providers(live, db))
    tray = _bundle(tmp_path / "tray.zip", rt, paths, in_process_providers(rt, db))

    assert sorted(cli) == sorted(tray)
    for name in sorted(n for n in cli if n.endswith(".json") and n != "manifest.json"):
        assert _fields(json.loads(cli[name])) == _fields(json.loads(tray[name])), name
    for files in (cli, tray):
        summary = files["SUMMARY.md"].decode()
        assert "**AlwaysOn**" in summary, summary
        assert "**Failed**: cannot reach" in summary, summary
        assert "encode: encoder crashed" in summary, summary
        assert json.loads(files["diagnose.json"])["probes"][0]["ok"] is False
        assert "Thread MainThread" in files["threads.txt"].decode()

"""The real OpenTelemetry Node.js SDK pushes to the receiver, configured only through
``OTEL_EXPORTER_OTLP_ENDPOINT`` (the README's instruction). Node's exporters send gzip
bodies with ``Transfer-Encoding: chunked`` and no Content-Length.

Needs ``node`` and ``npm``; the packages pinned in ``node/package-lock.json`` are installed
with ``npm ci`` once per test session (skipped when node_modules is already up to date).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from timeline_telemetry.export.exposition import ExpositionRenderer
from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import read_json_lines

NODE_DIR = Path(__file__).parent / "node"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("needs Node.js and npm on PATH (apt-get install nodejs npm) for the "
                    "OpenTelemetry Node.js SDK client")
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=False,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"npm ci failed in {NODE_DIR}:\n{proc.stdout}\n{proc.stderr}")
    return NODE_DIR / "push.mjs"


def test_node_sdk_pushes_traces_metrics_and_logs(
    node_client: Path, make_receiver: Callable[..., OtlpReceiver], metrics: Metrics,
    tmp_path: Path,
) -> None:
    logs_file = tmp_path / "node-logs.jsonl"
    rec = make_receiver(logs_file=logs_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=rec.endpoint, OTEL_EXPORTER_OTLP_COMPRESSION="gzip")
    proc = subprocess.run(["node", str(node_client)], cwd=NODE_DIR, env=env, check=False,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    trace_id = json.loads(proc.stdout)["traceId"]

    spans = rec.trace_store.trace(trace_id)
    assert sorted(s.name for s in spans) == ["node_encode", "node_render_pipeline"]
    root = next(s for s in spans if s.name == "node_render_pipeline")
    assert ("video_id", "n-42") in root.attributes and root.events == ("preparation_started",)
    assert [s.name for s in rec.trace_store.find(min_duration_s=30)] == ["node_encode"]
    assert {s.service for s in spans} == {"timeline-studio-node"}

    text = ExpositionRenderer().render(metrics.snapshot()).decode()
    lbl = 'instance="node-1",job="studio/timeline-studio-node",otel_scope_name="editor-node"'
    assert f'frames_processed_total{{codec="av1",{lbl}}} 240.0' in text
    assert f"frame_processing_duration_ms_count{{{lbl}}} 1.0" in text
    assert f"frame_processing_duration_ms_sum{{{lbl}}} 8.0" in text
    assert ('node_request_duration_seconds_sum{instance="node-1",job="studio/timeline-studio-node"'
            ',otel_scope_name="editor-node",route="/render"} 0.25') in text
    assert f"queue_size{{{lbl}}} 4.0" in text

    assert sorted(r.body for r in rec.log_store.recent()) == [
        "node: cache almost full", "node: render failed"]
    assert rec.logs_exporter is not None and rec.logs_exporter.force_flush(timeout_s=10)
    written = sorted(lr.body.string_value
                     for req in read_json_lines(logs_file, ExportLogsServiceRequest)
                     for rl in req.resource_logs for sl in rl.scope_logs for lr in sl.log_records)
    assert written == ["node: cache almost full", "node: render failed"]
    fam = metrics.snapshot().family("telemetry_otlp_requests_total")
    assert fam is not None and all(dict(s.labels)["code"] == "200" for s in fam.series)

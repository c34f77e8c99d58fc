"""The editor's spans in the bundle: the trace store's spans from the window,
error spans first, from a running agent (its local API, or the tray's manager), and after it
stopped (the store it saved at stop); ``GET /api/v1/traces``."""

from __future__ import annotations

import io
import json
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from bundle_fixtures import fake_run
from opentelemetry.trace import Status, StatusCode

from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import build_bundle, manager_providers, run_bundle_command
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from sdk_push import sdk_client

SPANS = 12


def _config(tmp: Path, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "metrics": {"collection_interval": "1h",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}],
                    "history": {"enabled": False}},
        "ingest": {"otlp": {"port": 0}, "trace_store_max_traces": 50},
        "health": {"checks": []},
        "alerts": {"enabled": False},
    }
    body.update(extra)
    return parse_config({"telemetry": body}, source=str(tmp / "c.json"), base_dir=tmp)


def _paths(tmp: Path) -> AppPaths:
    return AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp / "home")})


def _push_incident(endpoint: str) -> None:
    client = sdk_client(endpoint)
    tracer = client.tracer_provider.get_tracer("timeline-studio")
    try:
        with tracer.start_as_current_span("export-timeline"):
            for i in range(SPANS - 2):
                with tracer.start_as_current_span(f"render-clip-{i}"):
                    pass
            with tracer.start_as_current_span("encode") as span:
                span.set_status(Status(StatusCode.ERROR, "encoder crashed"))
    finally:
        client.shutdown()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentRuntime]:
    rt = AgentRuntime(_config(tmp_path), _paths(tmp_path), mode="headless")
    rt.start()
    yield rt
    rt.stop()


def _store_doc(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as zf:
        doc: dict[str, Any] = json.loads(zf.read("traces/store.json"))
    return doc


def _assert_incident(doc: dict[str, Any]) -> None:
    spans = doc["spans"]
    assert len(spans) == SPANS
    assert spans[0]["name"] == "encode"
    assert spans[0]["status"] == "error"
    assert spans[0]["status_message"] == "encoder crashed"
    assert all(s["status"] == "ok" for s in spans[1:])
    starts = [s["start_unix_nano"] for s in spans[1:]]
    assert starts == sorted(starts)
    assert doc["error_spans"] == 1


def _bundle(tmp_path: Path, agent: AgentRuntime, name: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_bundle_command(agent.config, agent.paths, out=tmp_path / name, since_s=600,
                              preview=False, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_spans_reach_the_bundle_live_and_after_the_agent_stopped(
        tmp_path: Path, agent: AgentRuntime) -> None:
    receiver = agent.manager.receiver
    assert receiver is not None
    _push_incident(receiver.endpoint)
    assert receiver.trace_store.span_count == SPANS

    code, out, err = _bundle(tmp_path, agent, "live.zip")
    assert code == 0, err
    assert "reading the running agent" in err
    live = _store_doc(tmp_path / "live.zip")
    _assert_incident(live)
    assert "running agent" in live["source"]
    assert "no trace File exporter configured" in out  # traces.jsonl: said why, and where

    agent.stop()
    saved = agent.trace_store_file
    assert saved.exists()
    code, _out, err = _bundle(tmp_path, agent, "stopped.zip")
    assert code == 0, err
    assert "no agent is running" in err
    stopped = _store_doc(tmp_path / "stopped.zip")
    _assert_incident(stopped)
    assert "saved at its last stop" in stopped["source"]

    # A restart reads them back: the dashboard and the next bundle still have them.
    again = AgentRuntime(agent.config, agent.paths, mode="headless")
    again.start()
    try:
        assert again.manager.receiver is not None
        assert again.manager.receiver.trace_store.span_count == SPANS
    finally:
        again.stop()


def test_the_trays_bundle_has_the_spans(tmp_path: Path, agent: AgentRuntime) -> None:
    receiver = agent.manager.receiver
    assert receiver is not None
    _push_incident(receiver.endpoint)
    result = build_bundle(config=agent.config, paths=agent.paths, out=tmp_path / "tray.zip",
                          since_s=600, providers=manager_providers(agent.manager), environ={},
                          psutil_mod=psutil, run=fake_run, process_sample_s=0.0)
    assert result.path is not None
    _assert_incident(_store_doc(result.path))


def test_the_traces_api_is_bounded_and_checks_its_parameters(agent: AgentRuntime) -> None:
    receiver = agent.manager.receiver
    assert receiver is not None and agent.api_url is not None
    _push_incident(receiver.endpoint)
    with urllib.request.urlopen(f"{agent.api_url}/traces?since=0&limit=3", timeout=5) as r:
        doc = json.loads(r.read())
    assert doc["status"] == "success"
    spans = doc["data"]["spans"]
    assert len(spans) == 3 and spans[0]["status_message"] == "encoder crashed"
    with urllib.request.urlopen(f"{agent.api_url}/traces?since=4102444800", timeout=5) as r:
        assert json.loads(r.read())["data"]["spans"] == []  # all end before 2100
    for bad in ("since=soon", "limit=-1", "since=nan"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{agent.api_url}/traces?{bad}", timeout=5)
        assert exc.value.code == 400
        assert json.loads(exc.value.read())["errorType"] == "bad_data"


def test_a_corrupt_saved_store_does_not_stop_the_agent(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    (paths.data_dir / "trace-store.jsonl").write_bytes(b'{"v": 1, "span": "AAAA\n\x00\xff')
    rt = AgentRuntime(_config(tmp_path), paths, mode="headless")
    rt.start()
    try:
        assert rt.manager.receiver is not None
        assert rt.manager.receiver.trace_store.span_count == 0
    finally:
        rt.stop()


def test_the_reason_names_a_file_exporter_whose_file_is_not_written_yet(
        tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    target = tmp_path / "never" / "traces.jsonl"
    config = _config(tmp_path, tracing={"exporters": [{"File": {"path": str(target)}}]})
    result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", since_s=600,
                          preview=True, environ={}, psutil_mod=psutil, run=fake_run,
                          process_sample_s=0.0, run_health_checks=False)
    why = {i["what"]: i["why"] for i in result.left_out}
    assert "does not exist yet" in why["traces.jsonl"]
    assert "no trace File exporter configured" not in why["traces.jsonl"]
    assert "traces/store.json" in why  # nothing saved and no agent: said so


def test_an_agent_that_does_not_answer_falls_back_to_the_saved_store(
        tmp_path: Path, agent: AgentRuntime) -> None:
    from timeline_telemetry.diagnostics import Providers

    receiver = agent.manager.receiver
    assert receiver is not None
    _push_incident(receiver.endpoint)
    agent.stop()

    def gone(_since: float) -> object:
        raise OSError("connection refused")

    result = build_bundle(config=agent.config, paths=agent.paths, out=tmp_path / "f.zip",
                          since_s=600, providers=Providers(traces=gone), environ={},
                          psutil_mod=psutil, run=fake_run, process_sample_s=0.0,
                          run_health_checks=False)
    assert result.path is not None
    doc = _store_doc(result.path)
    _assert_incident(doc)
    assert "connection refused" in doc["live_error"]

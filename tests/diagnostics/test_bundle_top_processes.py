"""A CPU hog that ran during the incident and is gone by bundle time is still in the bundle:
``processes.json``'s ``busiest_over_window`` and ``SUMMARY.md``, from the running agent (its
local API for the CLI, in process for the tray: the same shape) and after it stopped (the
samples it saved); ``GET /api/v1/processes/top``."""

from __future__ import annotations

import io
import json
import subprocess
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

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import build_bundle, run_bundle_command
from timeline_telemetry.diagnostics.live import alerts_store_path, in_process_providers
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="names the child with prctl(PR_SET_NAME)")

HOG = "tt-cpuhog"
# Busy for 3 s under its own name (prctl PR_SET_NAME: psutil's name()), then exits.
_HOG_CODE = f"""
import ctypes, time
ctypes.CDLL(None).prctl(15, b"{HOG}", 0, 0, 0)
end = time.monotonic() + 3.0
while time.monotonic() < end:
    pass
"""


def _config(tmp: Path) -> Any:
    body = {
        "metrics": {"collection_interval": "1h",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}],
                    "history": {"enabled": False}},
        "health": {"checks": []},
        "alerts": {"enabled": False},
    }
    return parse_config({"telemetry": body}, source=str(tmp / "c.json"), base_dir=tmp)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentRuntime]:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    rt = AgentRuntime(_config(tmp_path), paths, mode="headless", top_processes_interval_s=0.2)
    rt.start()
    yield rt
    rt.stop()


def _hog_seen(rt: AgentRuntime, pid: int) -> bool:
    return any(r.pid == pid and (r.cpu_percent or 0) > 20
               for s in rt.top_processes.samples() for r in s.by_cpu)


def _run_hog_until_gone(rt: AgentRuntime) -> int:
    """Start the hog, wait until a sample saw it busy, let it exit, and wait for a sample
    taken after it exited."""
    child = subprocess.Popen([sys.executable, "-S", "-c", _HOG_CODE])
    try:
        wait_for(lambda: _hog_seen(rt, child.pid), timeout=30, what="a sample with the hog")
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    gone_at = rt.clock_watch.now()
    wait_for(lambda: any(s.at > gone_at + 0.05 for s in rt.top_processes.samples()),
             timeout=30, what="a sample after the hog exited")
    return child.pid


def _read(zip_path: Path) -> tuple[dict[str, Any], str]:
    with zipfile.ZipFile(zip_path) as zf:
        return json.loads(zf.read("processes.json")), zf.read("SUMMARY.md").decode()


def _assert_hog(procs: dict[str, Any], summary: str, pid: int) -> None:
    busiest = procs["busiest_over_window"]
    rows = {r["name"]: r for r in busiest["by_cpu"]}
    assert HOG in rows, busiest
    row = rows[HOG]
    assert row["pids"] == [pid]
    assert row["cpu_percent_max"] > 20 and row["cpu_percent_avg"] > 0
    assert row["samples_in_top"] >= 1 and row["rss_bytes_max"] > 0
    for key in ("first_seen", "last_seen"):
        assert row[key][-6] in "+-" and row[key][-3] == ":"  # RFC 3339 with offset
    # Gone by bundle time: not in the bundle-time sample, which is labelled as such.
    assert all(r["pid"] != pid for r in procs["top_by_cpu"])
    assert "when the bundle was made" in procs["bundle_time_sample"]["note"]
    top = summary.split("## Top processes", 1)[1].split("\n## ", 1)[0]
    assert HOG in top
    assert top.index("over the window") < top.index("at bundle time")


def _cli_bundle(agent: AgentRuntime, out: Path) -> tuple[dict[str, Any], str]:
    """``timeline-telemetry bundle`` for ``agent``'s config: processes.json and SUMMARY.md."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_bundle_command(agent.config, agent.paths, out=out, since_s=600, preview=False,
                              stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    return _read(out)


def test_a_hog_gone_by_bundle_time_is_in_the_bundle(tmp_path: Path,
                                                    agent: AgentRuntime) -> None:
    pid = _run_hog_until_gone(agent)

    # The CLI, reading the running agent through its local API.
    cli_procs, cli_summary = _cli_bundle(agent, tmp_path / "cli.zip")
    _assert_hog(cli_procs, cli_summary, pid)
    assert "running agent" in cli_procs["busiest_over_window"]["source"]

    # The tray, in process: the same shape.
    providers = in_process_providers(agent, alerts_store_path(agent.config,
                                                              agent.paths.data_dir))
    result = build_bundle(config=agent.config, paths=agent.paths, out=tmp_path / "tray.zip",
                          since_s=600, providers=providers, environ={}, psutil_mod=psutil,
                          run=fake_run, process_sample_s=0.0)
    assert result.path is not None
    tray_procs, tray_summary = _read(result.path)
    _assert_hog(tray_procs, tray_summary, pid)
    assert set(tray_procs["busiest_over_window"]) == set(cli_procs["busiest_over_window"])
    assert set(tray_procs["busiest_over_window"]["by_cpu"][0]) == \
        set(cli_procs["busiest_over_window"]["by_cpu"][0])

    # Stopped: the samples it saved at stop.
    agent.stop()
    assert agent.top_processes_file.exists()
    saved_procs, saved_summary = _cli_bundle(agent, tmp_path / "stopped.zip")
    _assert_hog(saved_procs, saved_summary, pid)
    assert "saved at its last stop" in saved_procs["busiest_over_window"]["source"]

    # A restart reads them back: the API serves them again.
    again = AgentRuntime(agent.config, agent.paths, mode="headless")
    again.start()
    try:
        assert any(r.pid == pid for s in again.top_processes.samples() for r in s.by_cpu)
    finally:
        again.stop()


def test_the_top_processes_api_answers_and_checks_since(agent: AgentRuntime) -> None:
    assert agent.api_url is not None
    wait_for(lambda: len(agent.top_processes) >= 2, timeout=30, what="two samples")
    with urllib.request.urlopen(f"{agent.api_url}/processes/top?since=0", timeout=5) as r:
        doc = json.loads(r.read())
    assert doc["status"] == "success"
    data = doc["data"]
    assert data["interval_seconds"] == 0.2 and data["top"] == 5
    sample = data["samples"][-1]
    assert sample["time"][-6] in "+-" and len(sample["by_rss"]) == 5
    assert {"pid", "name", "cpu_percent", "rss_bytes"} <= set(sample["by_rss"][0])
    with urllib.request.urlopen(f"{agent.api_url}/processes/top?since=4102444800",
                                timeout=5) as r:
        assert json.loads(r.read())["data"]["samples"] == []
    for bad in ("since=soon", "since=-1", "since=nan"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{agent.api_url}/processes/top?{bad}", timeout=5)
        with exc.value:
            assert exc.value.code == 400
            assert json.loads(exc.value.read())["errorType"] == "bad_data"


def test_a_corrupt_saved_ring_does_not_stop_the_agent(tmp_path: Path) -> None:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    (paths.data_dir / "top-processes.json").write_bytes(b'{"v": 1, "samples": [\x00\xff')
    rt = AgentRuntime(_config(tmp_path), paths, mode="headless")
    rt.start()
    try:
        assert "top-processes" in rt.scheduler.jobs
    finally:
        rt.stop()
    assert json.loads((paths.data_dir / "top-processes.json").read_text())["v"] == 1

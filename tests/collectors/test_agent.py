"""The agent's own CPU and memory, on real processes."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from collector_helpers import ManualClock, assert_catalogued, value

from timeline_telemetry.collectors.agent import AgentCollector


def test_reports_own_rss_and_cpu_under_load() -> None:
    col = AgentCollector()
    me = psutil.Process()
    first = col.collect()
    assert_catalogued(first)
    rss = value(first, "telemetry_agent_memory_rss_bytes")
    assert abs(rss - me.memory_info().rss) < 64 * 2**20
    assert value(first, "telemetry_agent_cpu_usage_percent") >= 0
    start = me.cpu_times().user
    deadline = time.monotonic() + 30
    while me.cpu_times().user - start < 0.3:  # busy on purpose
        assert time.monotonic() < deadline
    assert value(col.collect(), "telemetry_agent_cpu_usage_percent") > 40


def test_idle_process_reads_near_zero_and_exit_raises(clock: ManualClock) -> None:
    code = "import sys; print('ready', flush=True); sys.stdin.read()"
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        col = AgentCollector(pid=child.pid, clock=clock)
        col.collect()
        clock.advance(10)  # 10 s of (at most a few ms of) CPU
        s = col.collect()
        assert value(s, "telemetry_agent_memory_rss_bytes") > 1_000_000
        assert value(s, "telemetry_agent_cpu_usage_percent") < 5
        child.kill()
        child.wait()
        with pytest.raises(psutil.NoSuchProcess):
            col.collect()

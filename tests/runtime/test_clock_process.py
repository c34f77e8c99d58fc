"""A wall-clock step under the real headless agent, made with libfaketime (Debian
``faketime``): +1 h for a few seconds, then back. The step is detected and logged, nothing
is pruned on the jumped clock, and nothing is stamped an hour ahead.

libfaketime re-reads the offset from ``FAKETIME_TIMESTAMP_FILE`` on every call with
``FAKETIME_NO_CACHE=1``; ``FAKETIME_DONT_FAKE_MONOTONIC=1`` leaves the monotonic clocks
alone, as an NTP or user step does.
"""

from __future__ import annotations

import glob
import json
import sqlite3
import time
from pathlib import Path

import pytest

from agent_process import AgentProcess, collections, run_cli
from support import wait_for

LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
              + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"

pytestmark = pytest.mark.skipif(not LIBS, reason="libfaketime (Debian faketime) not installed")


def test_a_one_hour_step_and_back_is_detected_and_loses_nothing(tmp_path: Path) -> None:
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False}}}))
    home = tmp_path / "home"
    started = time.time()
    agent = AgentProcess("--config", str(cfg), home=home, LD_PRELOAD=LIBS[0],
                         FAKETIME_TIMESTAMP_FILE=str(offset), FAKETIME_NO_CACHE="1",
                         FAKETIME_DONT_FAKE_MONOTONIC="1")
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        served = time.time()

        def collected(n: int) -> None:
            runs = collections(port)
            wait_for(lambda: collections(port) >= runs + n, timeout=30,
                     what=f"{n} more collections")

        collected(4)  # some collections before the step
        stepped = time.time()
        offset.write_text("+3600\n")
        agent.wait_for_line(r"wall clock stepped \+36\d\d s", timeout=20)
        collected(4)  # and during it
        offset.write_text("+0\n")
        agent.wait_for_line(r"wall clock stepped -36\d\d s \(back where it was\)", timeout=20)
        collected(2)
    finally:
        assert agent.stop() == 0
    ended = time.time()
    [db] = home.rglob("history.sqlite3")
    with sqlite3.connect(db) as conn:
        lo, hi = conn.execute("SELECT min(ts), max(ts) FROM samples_raw").fetchone()
    assert started <= lo / 1000 <= stepped  # the seconds before the step were not pruned
    assert hi / 1000 <= ended + 5  # nothing stamped an hour ahead
    # Every second of the run is in `history show`, the hour-ahead ones at their real time.
    shown = run_cli("history", "show", "--config", str(cfg), "system_memory_usage_bytes",
                    "--since", "10m", "--csv", home=home)
    assert shown.returncode == 0, shown.stderr
    rows = shown.stdout.strip().splitlines()[1:]
    # Collections are every second; on a loaded machine some ticks are skipped (counted),
    # so ask for most of them, not all: a lost minute or hour would be far fewer.
    assert len(rows) >= (ended - served) / 2, shown.stdout

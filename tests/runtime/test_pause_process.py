"""A stopped process (SIGSTOP for longer than the detector's tolerance, then SIGCONT) under
the real headless agent: the pause is detected and logged, the history shows one honest gap
and no burst of made-up collections after it, and a pending ``for`` timer starts again
instead of counting the time the process was stopped."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

from agent_process import AgentProcess, collections
from support import wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"
PAUSE_S = 8.0  # longer than the detector's 5 s tolerance at a 1 s interval

RULES = """groups:
  - name: pause
    rules:
      - alert: AlwaysPending
        expr: vector(1)
        for: 1h
"""


def pending_alerts(port: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5) as r:
        body = json.load(r)
    return [a for a in body["data"]["alerts"] if a["state"] == "pending"]


def active_at(alert: dict[str, Any]) -> float:
    from datetime import datetime
    return datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00")).timestamp()


def test_a_stopped_agent_resumes_with_one_gap_and_restarted_timers(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": "1s",
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False},
        "alerts": {"rule_files": [str(tmp_path / "rules.yml")], "evaluation_interval": "1s",
                   "desktop_notifications": False}}}))
    home = tmp_path / "home"
    agent = AgentProcess("--config", str(cfg), home=home)
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        [before] = wait_for(lambda: pending_alerts(port), timeout=20, what="the rule pending")
        wait_for(lambda: collections(port) >= 4, timeout=20,
                 what="a few collections before the pause")
        os.kill(agent.proc.pid, signal.SIGSTOP)
        stopped = time.time()
        time.sleep(PAUSE_S)  # the stimulus: how long the process stays stopped
        resumed = time.time()
        os.kill(agent.proc.pid, signal.SIGCONT)
        gap = float(agent.wait_for_line(r"resumed after (\d+) s suspended or stopped",
                                        timeout=20).group(1))
        assert PAUSE_S - 1 <= gap <= PAUSE_S + 5
        # The pending timer started again at the detection, not at the first evaluation.
        [after] = wait_for(lambda: [a for a in pending_alerts(port)
                                    if active_at(a) >= resumed - 1],
                           timeout=20, what="a restarted timer")
        assert active_at(after) > active_at(before) + PAUSE_S - 1
        runs = collections(port)
        wait_for(lambda: collections(port) >= runs + 3, timeout=20,
                 what="collections after resuming")
    finally:
        assert agent.stop() == 0
    [db] = home.rglob("history.sqlite3")
    with sqlite3.connect(db) as conn:
        stamps = [ts / 1000 for (ts,) in conn.execute(
            "SELECT r.ts FROM samples_raw r JOIN series s ON s.id = r.series_id"
            " WHERE s.name = 'system_memory_usage_bytes' ORDER BY r.ts")]
    gaps = [b - a for a, b in itertools.pairwise(stamps[:-1])]  # [-1]: the one at stop
    assert sum(1 for g in gaps if g > 4) == 1, gaps  # one honest gap, the pause
    assert max(gaps) >= PAUSE_S - 1
    # No burst of made-up collections after the pause: still about one a second.
    after_pause = [t for t in stamps if resumed <= t <= resumed + 3]
    assert len(after_pause) <= 5, after_pause
    assert all(g >= 0.5 for g in gaps), gaps
    assert stopped < resumed

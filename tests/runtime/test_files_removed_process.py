"""Files removed under the real headless agent: ``rm history.sqlite3``, then
``rm -rf`` of the whole data folder. The agent notices within a health round (the path no
longer names the open file), says so in the log, turns the ``history`` check Warning, then
recreates the stores from the still-open files (nothing lost), ``agent.json`` and
``agent.lock``, and keeps writing."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from agent_process import AgentProcess, run_cli
from support import get, wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"
RULES = ("groups:\n  - name: files\n    rules:\n      - alert: MemUsed\n"
         "        expr: system_memory_usage_bytes > 0\n        labels: {severity: warning}\n")


def _newest_ms(db: Path) -> int:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COALESCE(MAX(ts), 0) FROM samples_raw").fetchone()[0])
    finally:
        conn.close()


def _oldest_ms(db: Path) -> int:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT MIN(ts) FROM samples_raw").fetchone()[0])
    finally:
        conn.close()


def test_removed_history_and_data_folder_are_noticed_and_recreated(
        tmp_path: Path, app_home: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": "200ms",
                    "exporters": [{"Prometheus": {"port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "500ms", "checks": []},
        "alerts": {"rule_files": [str(rules)], "evaluation_interval": "200ms"}}}))
    data = app_home / "data"
    db, alerts_db = data / "history.sqlite3", data / "alerts.sqlite3"
    proc = AgentProcess("--config", str(cfg), home=app_home)
    try:
        base = f"http://127.0.0.1:{int(proc.wait_for_line(SERVING).group(1))}"

        def health() -> Any:
            status, _h, body = get(f"{base}/api/v1/health")
            assert status == 200, body
            return json.loads(body)["data"]

        def history_check() -> str:
            return str(health()["current"]["checks"].get("history", {}).get("status"))

        def recoveries() -> int:
            return sum(1 for t in health()["transitions"] if t["component"] == "history"
                       and t["old"] == "Warning" and t["new"] == "Healthy")

        wait_for(lambda: history_check() == "Healthy", timeout=30, what="history Healthy")
        wait_for(lambda: db.exists() and _newest_ms(db) > 0, timeout=30, what="points")
        first_ms = _oldest_ms(db)

        # 1. rm history.sqlite3
        removed_at = time.time()
        db.unlink()
        proc.wait_for_line(r"history file .*history\.sqlite3 was removed while in use; "
                           r"recreated it", timeout=15)
        wait_for(lambda: recoveries() >= 1, timeout=15, what="history Warning -> Healthy")
        assert history_check() == "Healthy"
        assert db.exists()
        assert _oldest_ms(db) == first_ms  # rebuilt from the open file: nothing lost
        wait_for(lambda: _newest_ms(db) > removed_at * 1000 + 500, timeout=15,
                 what="new points in the recreated history")
        listed = run_cli("history", "list", "system_memory", home=app_home)
        assert listed.returncode == 0, listed.stderr
        assert "system_memory" in listed.stdout

        # 2. rm -rf of the data folder
        removed_at = time.time()
        shutil.rmtree(data)
        proc.wait_for_line(r"history file .* was removed with its folder while in use",
                           timeout=15)
        proc.wait_for_line(r"alert store .*alerts\.sqlite3 was removed with its folder",
                           timeout=15)
        proc.wait_for_line(r"agent\.json was removed while the agent ran", timeout=15)
        wait_for(lambda: recoveries() >= 2, timeout=15, what="history Healthy again")
        assert (data / "agent.json").exists() and (data / "agent.lock").exists()
        assert alerts_db.exists()
        assert _oldest_ms(db) == first_ms
        wait_for(lambda: _newest_ms(db) > removed_at * 1000 + 500, timeout=15,
                 what="new points after the data folder went")
        status = run_cli("status", home=app_home)
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        code = proc.stop()
    assert code == 0, "\n".join(proc.lines)
    # The stores are the recreated files: the alert history survived the stop too.
    conn = sqlite3.connect(alerts_db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM alert_events").fetchone()[0] >= 1
    finally:
        conn.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert _oldest_ms(db) == first_ms


def test_with_health_checks_off_a_removed_history_is_still_recreated(
        tmp_path: Path, app_home: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {
        "metrics": {"collection_interval": "200ms",
                    "exporters": [{"Prometheus": {"port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False, "check_interval": "500ms"}}}))
    db = app_home / "data" / "history.sqlite3"
    proc = AgentProcess("--config", str(cfg), home=app_home)
    try:
        proc.wait_for_line(SERVING)
        wait_for(lambda: db.exists() and _newest_ms(db) > 0, timeout=30, what="points")
        first_ms = _oldest_ms(db)
        removed_at = time.time()
        db.unlink()
        proc.wait_for_line(r"history file .*history\.sqlite3 was removed while in use; "
                           r"recreated it", timeout=15)
        assert _oldest_ms(db) == first_ms
        wait_for(lambda: _newest_ms(db) > removed_at * 1000 + 500, timeout=15,
                 what="new points in the recreated history")
    finally:
        code = proc.stop()
    assert code == 0, "\n".join(proc.lines)

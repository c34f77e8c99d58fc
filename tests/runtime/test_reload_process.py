"""Rule reload in the real headless agent: a changed rule file, SIGHUP, ``POST /-/reload``,
and a bad new file that keeps the old rules and says why (status API, log, ``status``)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_process import AgentProcess, run_cli
from support import get, wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"


def _rules(*names: str) -> str:
    body = "groups:\n  - name: reload\n    rules:\n"
    for n in names:
        body += (f"      - alert: {n}\n        expr: system_memory_usage_bytes > 0\n"
                 "        labels: {severity: warning}\n")
    return body


# A YAML syntax error on line 4 (a second ': ' in a plain scalar).
BAD = "groups:\n  - name: reload\n    rules:\n      - alert: Broken: x\n        expr: up\n"


class Agent:
    """A headless agent on one rule file, with its API's base URL."""

    def __init__(self, tmp: Path, home: Path) -> None:
        self.rules = tmp / "rules.yml"
        self.rules.write_text(_rules("MemA"))
        cfg = tmp / "c.json"
        cfg.write_text(json.dumps({"telemetry": {
            "metrics": {"collection_interval": "200ms",
                        "exporters": [{"Prometheus": {"port": 0}}]},
            "ingest": {"otlp": {"port": 0}},
            "health": {"enabled": False},
            "alerts": {"rule_files": [str(self.rules)], "evaluation_interval": "200ms"}}}))
        self.home = home
        self.proc = AgentProcess("--config", str(cfg), home=home)
        port = int(self.proc.wait_for_line(SERVING).group(1))
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str) -> Any:
        status, _h, body = get(f"{self.base}/api/v1/{path}")
        assert status == 200, body
        return json.loads(body)["data"]

    def rule_names(self) -> list[str]:
        return [r["name"] for g in self.api("rules")["groups"] for r in g["rules"]]

    def wait_rules(self, *names: str) -> None:
        wait_for(lambda: self.rule_names() == list(names), timeout=30,
                 what=f"rules {names} in /api/v1/rules")

    def post_reload(self) -> tuple[int, str]:
        status, _h, body = get(f"{self.base}/-/reload", method="POST", data=b"")
        return status, body.decode()


@pytest.fixture
def agent(tmp_path: Path, app_home: Path) -> Iterator[Agent]:
    a = Agent(tmp_path, app_home)
    try:
        a.wait_rules("MemA")
        yield a
    finally:
        code = a.proc.stop()
    assert code == 0, "\n".join(a.proc.lines)


def test_a_changed_rule_file_is_reloaded_and_a_bad_one_keeps_the_old_rules(
        agent: Agent) -> None:
    assert agent.api("status")["rules"]["ok"] is True
    agent.rules.write_text(_rules("MemA", "MemB"))
    agent.wait_rules("MemA", "MemB")
    agent.proc.wait_for_line(r"rules reloaded \(file change\): 2 rules from .*rules\.yml")

    agent.rules.write_text(BAD)
    rules = wait_for(lambda: (r := agent.api("status")["rules"])["ok"] is False and r,
                     timeout=30, what="the failed reload in /api/v1/status")
    assert rules["trigger"] == "file change" and rules["state"] == "Warning"
    assert f"{agent.rules}:4:" in rules["error"], rules
    assert agent.rule_names() == ["MemA", "MemB"]  # the old rules stay
    agent.proc.wait_for_line(rf"rule reload \(file change\) failed, keeping the 2 old rules: "
                             rf".*{agent.rules.name}:4:")
    out = run_cli("status", home=agent.home)
    assert out.returncode == 0, out.stderr
    assert "warning: rule reload (file change)" in out.stdout
    assert f"{agent.rules}:4:" in out.stdout

    agent.rules.write_text(_rules("MemC"))  # fixed: loads again, the warning goes
    agent.wait_rules("MemC")
    assert agent.api("status")["rules"]["ok"] is True
    assert agent.api("status")["rules"]["state"] == "Healthy"
    assert "warning:" not in run_cli("status", home=agent.home).stdout


def test_sighup_reloads_and_does_not_stop_the_agent(agent: Agent) -> None:
    agent.rules.write_text(_rules("MemA", "MemB"))
    agent.proc.proc.send_signal(signal.SIGHUP)
    agent.proc.wait_for_line(r"rules reloaded \(sighup\): 2 rules")
    agent.wait_rules("MemA", "MemB")
    assert agent.proc.proc.poll() is None
    agent.rules.write_text(_rules("MemA", "MemB", "MemC"))
    agent.proc.proc.send_signal(signal.SIGHUP)  # twice: still running, reloads again
    agent.proc.wait_for_line(r"rules reloaded \(sighup\): 3 rules")
    assert agent.proc.proc.poll() is None
    assert agent.api("status")["rules"]["trigger"] == "sighup"


def test_post_reload_answers_like_prometheus_and_keeps_alert_state(agent: Agent) -> None:
    def firing_a() -> dict[str, Any] | None:
        alerts = [a for a in agent.api("alerts")["alerts"]
                  if a["labels"]["alertname"] == "MemA" and a["state"] == "firing"]
        return alerts[0] if alerts else None

    before = wait_for(firing_a, timeout=30, what="MemA firing")
    agent.rules.write_text(_rules("MemA", "MemB"))
    assert agent.post_reload() == (200, "")
    assert agent.rule_names() == ["MemA", "MemB"]  # done when the answer comes
    agent.proc.wait_for_line(r"rules reloaded \(api\): 2 rules")
    after = firing_a()
    assert after is not None and after["activeAt"] == before["activeAt"]  # state kept

    agent.rules.write_text(BAD)
    status, text = agent.post_reload()
    assert status == 500
    assert f"{agent.rules}:4:" in text
    assert agent.rule_names() == ["MemA", "MemB"]
    assert agent.api("status")["rules"]["ok"] is False
    assert get(f"{agent.base}/-/reload")[0] == 405  # POST only

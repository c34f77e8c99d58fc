"""Config file edits in the real headless agent: a rule-related change is applied live, a
change that needs a restart is said once, and a broken file is reported at once while the
running config stays (log, ``/api/v1/status``, ``status``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_process import AgentProcess, run_cli
from support import get, wait_for

SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"
RULES = ("groups:\n  - name: cfg\n    rules:\n      - alert: {name}\n"
         "        expr: system_memory_usage_bytes > 0\n        labels: {{severity: warning}}\n")


def _config(rule_file: Path, interval: str = "200ms") -> str:
    return json.dumps({"telemetry": {
        "metrics": {"collection_interval": interval,
                    "exporters": [{"Prometheus": {"port": 0}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False},
        "alerts": {"rule_files": [str(rule_file)], "evaluation_interval": "200ms"}}}, indent=1)


def test_config_edits_are_noticed_applied_or_reported(tmp_path: Path, app_home: Path) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text(RULES.format(name="FromA"))
    second.write_text(RULES.format(name="FromB"))
    cfg = tmp_path / "c.json"
    cfg.write_text(_config(first))
    proc = AgentProcess("--config", str(cfg), home=app_home)
    try:
        base = "http://127.0.0.1:" + proc.wait_for_line(SERVING).group(1)

        def api(path: str) -> Any:
            status, _h, body = get(f"{base}/api/v1/{path}")
            assert status == 200, body
            return json.loads(body)["data"]

        def watch_rounds(n: int) -> None:
            """Wait until the config watch has looked ``n`` more times."""
            def runs() -> int:
                return int(api("status")["jobs"]["rules"]["runs"])
            start = runs()
            wait_for(lambda: runs() >= start + n, timeout=30, what=f"{n} more watch rounds")

        def rule_names() -> list[str]:
            return [r["name"] for g in api("rules")["groups"] for r in g["rules"]]

        wait_for(lambda: rule_names() == ["FromA"], timeout=30, what="the first rules")
        # A rule-related key: applied live.
        cfg.write_text(_config(second))
        proc.wait_for_line(r"config changed: alerting applied \(1 rules from .*b\.yml\)")
        wait_for(lambda: rule_names() == ["FromB"], timeout=30, what="the rules of b.yml")
        assert not any("takes effect at restart" in ln for ln in proc.lines)

        # A key that needs a restart: said once, naming it.
        cfg.write_text(_config(second, interval="300ms"))
        proc.wait_for_line(r"config changed: telemetry\.metrics\.collection_interval takes "
                           r"effect at restart")
        cfg.write_text(_config(second, interval="300ms") + "\n")  # touched again, same content
        wait_for(lambda: sum("config changed" in ln for ln in proc.drain()) >= 2, timeout=30,
                 what="the second reload")
        watch_rounds(2)
        assert sum("takes effect at restart" in ln for ln in proc.drain()) == 1, proc.lines

        # Broken JSON: reported at once with file:line:col, the running config kept.
        cfg.write_text('{"telemetry": {\n  "metrics": }\n')
        proc.wait_for_line(r"config changed but cannot be used, keeping the running config.*"
                           r"c\.json: invalid JSON at line 2, column \d+")
        rules = wait_for(lambda: (r := api("status")["rules"])["ok"] is False and r,
                         timeout=30, what="the config warning in /api/v1/status")
        assert rules["trigger"] == "config change", rules
        assert f"{cfg}: invalid JSON at line 2" in rules["error"], rules
        assert rule_names() == ["FromB"]
        assert proc.proc.poll() is None
        out = run_cli("status", home=app_home)
        assert out.returncode == 0, out.stderr
        assert "warning:" in out.stdout and "invalid JSON at line 2" in out.stdout, out.stdout
        watch_rounds(2)
        assert sum("cannot be used" in ln for ln in proc.drain()) == 1, proc.lines
    finally:
        code = proc.stop()
    assert code == 0, "\n".join(proc.lines)

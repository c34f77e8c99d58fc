"""Rule reload in-process: state kept by name and labels, the config source, the route's
loopback check, the events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.net.http_server import Request
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime, RulesReloaded, RuntimeEvent
from timeline_telemetry.runtime.api import reload_route


def _rules(*rules: tuple[str, str]) -> str:
    body = "groups:\n  - name: g\n    rules:\n"
    for name, sev in rules:
        body += (f"      - alert: {name}\n        expr: system_memory_usage_bytes > 0\n"
                 f"        labels: {{severity: {sev}}}\n")
    return body


def _config(tmp: Path, cooldown: str = "0s") -> Any:
    return parse_config({"telemetry": {
        "metrics": {"collection_interval": "1h", "exporters": []},
        "ingest": {"otlp": {"port": 0}}, "health": {"enabled": False},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "1h",
                   "rules": [{"alert": "Kept",
                              "cooldown": cooldown}]},
    }}, source=str(tmp / "c.json"), base_dir=tmp)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[AgentRuntime]:
    (tmp_path / "rules.yml").write_text(_rules(("Kept", "warning"), ("Gone", "warning"),
                                               ("Relabelled", "warning")))
    sources = iter([_config(tmp_path, "5m")] * 10)
    runtime = AgentRuntime(_config(tmp_path), AppPaths.resolve(
        {"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}), mode="headless",
        config_source=lambda: next(sources))
    runtime.start()
    yield runtime
    runtime.stop()


def _firing(rt: AgentRuntime) -> dict[str, float]:
    alerts = rt.manager.alerts
    assert alerts is not None
    return {a.name: a.active_at_ms for a in alerts.firing()}


def test_reload_keeps_the_state_of_rules_with_the_same_name_and_labels(
        rt: AgentRuntime, tmp_path: Path) -> None:
    alerts = rt.manager.alerts
    assert alerts is not None
    alerts.evaluate()
    before = _firing(rt)
    assert set(before) == {"Kept", "Gone", "Relabelled"}
    events: list[RuntimeEvent] = []
    rt.events.subscribe(events.append)
    (tmp_path / "rules.yml").write_text(_rules(("Kept", "warning"), ("Relabelled", "critical"),
                                               ("New", "warning")))
    result = rt.reload(trigger="test")
    assert result.ok and result.rules == 3 and result.trigger == "test"
    assert events == [result]
    # Unchanged name and labels: the same alert (same activeAt) before any evaluation.
    assert _firing(rt) == {"Kept": before["Kept"]}
    alerts.evaluate(before["Kept"] / 1000 + 60)
    after = _firing(rt)
    assert after["Kept"] == before["Kept"]
    assert set(after) == {"Kept", "Relabelled", "New"}  # new alerts of the new rules
    # The config source's policy for Kept (cooldown 5m) replaced the old one.
    assert alerts._policies["Kept"].cooldown_s == 300
    status = rt.status()["rules"]
    assert isinstance(status, dict) and status["ok"] is True and status["rules"] == 3
    assert status["state"] == "Healthy"


def test_a_bad_file_keeps_the_old_rules_and_is_reported(
        rt: AgentRuntime, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "rules.yml").write_text("groups:\n  - name: g\n    rules: 3\n")
    with caplog.at_level(logging.WARNING, "timeline_telemetry.runtime"):
        result = rt.reload(trigger="test")
    assert not result.ok and result.rules == 3
    assert result.error is not None and f"{tmp_path / 'rules.yml'}:3:" in result.error
    assert f"keeping the 3 old rules: {tmp_path / 'rules.yml'}:3:" in caplog.text
    status = rt.status()["rules"]
    assert isinstance(status, dict) and status["ok"] is False
    assert status["state"] == "Warning"  # the old rules run: a Warning, as the issue asks
    assert status["error"] == result.error


def test_the_watcher_job_reloads_a_changed_file(rt: AgentRuntime, tmp_path: Path) -> None:
    assert "rules" in rt.scheduler.jobs
    (tmp_path / "rules.yml").write_text(_rules(("Only", "warning")))
    rt.scheduler.wake("rules")  # instead of waiting for its 5 s tick
    last = wait_for(lambda: (r := rt.last_reload) is not None and r.trigger == "file change"
                    and r, timeout=10, what="the watcher's reload")
    assert isinstance(last, RulesReloaded) and last.ok and last.rules == 1
    rt.scheduler.wake("rules")  # nothing changed since: no second reload
    rt.request_reload("again")
    wait_for(lambda: rt.last_reload is not None and rt.last_reload.trigger == "again",
             timeout=10, what="the requested reload")


def test_reload_route_only_answers_loopback() -> None:
    calls: list[int] = []

    def reload() -> str | None:
        calls.append(1)
        return "rules.yml:3:5: bad" if len(calls) > 1 else None

    handle = reload_route(reload)

    def req(host: str) -> Request:
        return Request("POST", "/-/reload", "", {}, b"", (host, 5000))

    assert handle(req("10.1.2.3")).status == 403 and not calls
    assert handle(req("127.0.0.1")).status == 200
    bad = handle(req("::1"))
    assert bad.status == 500 and b"rules.yml:3:5: bad" in bad.body

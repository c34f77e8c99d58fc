"""The tray's "Reload rules": it reloads the runtime's rules; a bad file keeps the old ones
and the tray says why (a notification and the tooltip)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from timeline_telemetry.config import parse_config
from timeline_telemetry.notifications import Notification
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import TrayApp, new_pool
from timeline_telemetry.ui.executor import QtPoolExecutor


def _rules(*names: str) -> str:
    body = "groups:\n  - name: tray\n    rules:\n"
    for n in names:
        body += f"      - alert: {n}\n        expr: system_memory_usage_bytes > 0\n"
    return body


BAD = "groups:\n  - name: tray\n    rules:\n      - alert: Broken: x\n        expr: up\n"


@pytest.fixture
def app(qtbot: QtBot, tmp_path: Path, paths: AppPaths) -> Iterator[TrayApp]:
    (tmp_path / "rules.yml").write_text(_rules("TrayA"))
    config = parse_config({"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": [],
                    "collectors": {"gpu": False}},
        "tracing": {"enabled": False}, "ingest": {"otlp": {"port": 0}},
        "health": {"enabled": False},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "1h"},
    }}, source="test", base_dir=tmp_path)
    pool = new_pool()
    runtime = AgentRuntime(config, paths, mode="tray", executor=QtPoolExecutor(pool))
    tray = TrayApp(runtime, paths, tray_available=True)
    runtime.start()
    tray.start()
    yield tray
    tray.quit()
    runtime.stop()
    pool.waitForDone(5000)


def _rule_names(app: TrayApp) -> list[str]:
    alerts = app.runtime.manager.alerts
    assert alerts is not None
    groups = alerts.prometheus_rules()["groups"]
    assert isinstance(groups, list)
    return [str(r["name"]) for g in groups for r in g["rules"]]


def test_reload_rules_from_the_tray(qtbot: QtBot, app: TrayApp, tmp_path: Path) -> None:
    app.centre._coalesce = 0.05
    shown: list[Notification] = []
    app.notifier.shown.connect(shown.append)
    act = app.tray.act_reload
    assert act.text() == "Reload rules" and act in app.tray.menu.actions()
    assert _rule_names(app) == ["TrayA"]

    (tmp_path / "rules.yml").write_text(_rules("TrayA", "TrayB"))
    act.trigger()
    qtbot.waitUntil(lambda: _rule_names(app) == ["TrayA", "TrayB"], timeout=10_000)
    # (It may come merged with TrayA's "firing" notice: look at the text, not the title.)
    qtbot.waitUntil(lambda: any("Rules reloaded: 2 rules" in f"{n.title}: {n.body}"
                                for n in shown), timeout=5000)
    assert "Warning" not in app.tray.tray.toolTip()

    (tmp_path / "rules.yml").write_text(BAD)
    act.trigger()
    qtbot.waitUntil(lambda: app.controller.last_reload is not None
                    and not app.controller.last_reload.ok, timeout=10_000)
    assert _rule_names(app) == ["TrayA", "TrayB"]  # the old rules stay
    where = f"{tmp_path / 'rules.yml'}:4:"
    tip = app.tray.tray.toolTip()
    assert "Warning: rules not reloaded" in tip and where in tip, tip
    qtbot.waitUntil(lambda: any("Rules not reloaded" in f"{n.title}: {n.body}"
                                and where in n.body and n.severity >= 1
                                for n in shown), timeout=5000)

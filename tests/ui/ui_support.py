"""Helpers the tray app's tests import (a plain module: ``conftest`` is not importable by
name when several test folders each have one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from timeline_telemetry.config import parse_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

if TYPE_CHECKING:
    from timeline_telemetry.ui.app import TrayApp

__all__ = ["make_config", "running_app"]


#: A rule that fires at the first evaluation, for tests that need a real firing alert.
HIGH_CPU_RULE = """groups:
  - name: ui
    rules:
      - alert: HighCpu
        expr: vector(1)
        labels: {severity: warning}
        annotations: {summary: "CPU > 90% for 5 min"}
"""


def make_config(tmp_path: Path, *, max_used: float = 0.9999, rules: str | None = None,
                desktop_notifications: bool = False) -> object:
    """A small config: 1 s collection, no exporters, one disk check on tmp_path; ``rules``:
    a rule file evaluated every second (the core's own desktop notifications off unless
    ``desktop_notifications``, so a test sees only the notifications it triggers)."""
    data: dict[str, dict[str, object]] = {"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": [],
                    "collectors": {"gpu": False}},
        "tracing": {"enabled": False},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "1s", "checks": [
            {"DiskSpace": {"name": "scratch-disk", "path": str(tmp_path),
                           "max_used_fraction": max_used,
                           "warning_margin": 0.0001 if max_used > 0.5 else max_used / 2}},
        ]},
    }}
    if rules is not None:
        (tmp_path / "rules.yml").write_text(rules)
        data["telemetry"]["alerts"] = {"rule_files": [str(tmp_path / "rules.yml")],
                                       "evaluation_interval": "1s",
                                       "desktop_notifications": desktop_notifications}
    return parse_config(data, source="test", base_dir=tmp_path)


@contextmanager
def running_app(runtime: AgentRuntime, paths: AppPaths, *, tray_available: bool = True,
                **kw: object) -> Iterator[TrayApp]:
    """The tray app over ``runtime``, the runtime started (as the tray starts it); the app
    quit and its dashboard deleted on leaving. ``kw``: TrayApp's other arguments."""
    from timeline_telemetry.ui.app import TrayApp

    app = TrayApp(runtime, paths, tray_available=tray_available, **kw)  # type: ignore[arg-type]
    runtime.start()
    try:
        yield app
    finally:
        app.quit()
        if app.dashboard is not None:
            app.dashboard.deleteLater()

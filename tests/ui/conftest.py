"""Fixtures for the tray app's tests: Qt offscreen, the real core runtime on tmp paths (as
the tray starts it), the app parts.

QT_QPA_PLATFORM is set before Qt is imported by anything in this folder.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("PYTEST_QT_API", "pyside6")

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_support import HIGH_CPU_RULE, make_config, running_app

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(config_dir=tmp_path / "config", data_dir=tmp_path / "data",
                    log_dir=tmp_path / "logs").ensure()


def _runtime(config: object, paths: AppPaths) -> Iterator[AgentRuntime]:
    from timeline_telemetry.ui.app import new_pool
    from timeline_telemetry.ui.executor import QtPoolExecutor

    pool = new_pool()
    rt = AgentRuntime(config, paths, mode="tray", executor=QtPoolExecutor(pool))  # type: ignore[arg-type]
    yield rt  # started by the test after it subscribed (as run_tray_app does)
    rt.stop()
    pool.waitForDone(5000)


@pytest.fixture
def runtime(tmp_path: Path, paths: AppPaths) -> Iterator[AgentRuntime]:
    yield from _runtime(make_config(tmp_path), paths)


@pytest.fixture
def alerting_runtime(tmp_path: Path, paths: AppPaths) -> Iterator[AgentRuntime]:
    """The runtime with a rule (HighCpu) firing from the first evaluation."""
    yield from _runtime(make_config(tmp_path, rules=HIGH_CPU_RULE), paths)


@pytest.fixture
def notifying_runtime(tmp_path: Path, paths: AppPaths) -> Iterator[AgentRuntime]:
    """The runtime with HighCpu firing from the first evaluation and the desktop action on:
    the core itself tells the tray (an ``AlertNotice``), as in the product."""
    yield from _runtime(make_config(tmp_path, rules=HIGH_CPU_RULE, desktop_notifications=True),
                        paths)


@pytest.fixture
def failing_runtime(tmp_path: Path, paths: AppPaths) -> Iterator[AgentRuntime]:
    yield from _runtime(make_config(tmp_path, max_used=0.0001), paths)


@pytest.fixture
def app(qtbot: object, runtime: AgentRuntime, paths: AppPaths) -> Iterator[object]:
    """The tray app over the real runtime, as the tray starts it (a test file may define its
    own ``app`` for other arguments, with :func:`ui_support.running_app`)."""
    with running_app(runtime, paths) as a:
        yield a

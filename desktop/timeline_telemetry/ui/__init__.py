"""The tray app: the Qt front end over the same core the agent runs (see ``app.py``).

Importing this package does not import Qt; :func:`run_tray_app` does, when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timeline_telemetry.config import TelemetryConfig
    from timeline_telemetry.paths import AppPaths

__all__ = ["report_startup_failure", "run_tray_app"]


def run_tray_app(
    config: TelemetryConfig,
    paths: AppPaths,
    argv: Sequence[str],
    *,
    config_source: Callable[[], TelemetryConfig] | None = None,
    open_page: str = "",
) -> int:
    """Start the tray app (see :func:`timeline_telemetry.ui.app.run_tray_app`)."""
    from .qt_boot import load_qt

    load_qt()
    from .app import run_tray_app as _run

    return _run(config, paths, argv, config_source=config_source, open_page=open_page)


def report_startup_failure(
    reason: str, *, folder: Path | None, environ: Mapping[str, str] = os.environ
) -> None:
    """Say in a dialog why the app did not start (see ``startup_error.py``)."""
    from .startup_error import report_startup_failure as _report

    _report(reason, folder=folder, environ=environ)

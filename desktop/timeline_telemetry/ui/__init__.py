"""The tray app: the Qt front end over the same core the agent runs (see ``app.py``).

Importing this package does not import Qt; :func:`run_tray_app` does, when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timeline_telemetry.config import TelemetryConfig
    from timeline_telemetry.paths import AppPaths

__all__ = ["run_tray_app"]


def run_tray_app(config: TelemetryConfig, paths: AppPaths, argv: Sequence[str]) -> int:
    """Start the tray app (see :func:`timeline_telemetry.ui.app.run_tray_app`)."""
    from .app import run_tray_app as _run

    return _run(config, paths, argv)

"""Where the app keeps its files: the user config, data and log directories.

By default these are platformdirs' per-user directories for the app ``timeline-telemetry``.
``TIMELINE_TELEMETRY_HOME`` puts all three under one folder (``<home>/config``,
``<home>/data``, ``<home>/logs``) for tests and portable installs. Resolving creates nothing;
:meth:`AppPaths.ensure` does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "HOME_ENV", "AppPaths"]

APP_NAME = "timeline-telemetry"
HOME_ENV = "TIMELINE_TELEMETRY_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The three per-user directories of the app (absolute paths, maybe not created yet)."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @classmethod
    def resolve(cls, environ: Mapping[str, str] = os.environ) -> AppPaths:
        """Work out the directories from ``environ`` (``TIMELINE_TELEMETRY_HOME``) or platformdirs.

        An empty ``TIMELINE_TELEMETRY_HOME`` counts as unset. Nothing is created.
        """
        home = environ.get(HOME_ENV, "")
        if home:
            root = Path(home).expanduser().absolute()
            return cls(config_dir=root / "config", data_dir=root / "data", log_dir=root / "logs")
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    def ensure(self) -> AppPaths:
        """Create the three directories if missing (parents too); returns ``self``."""
        for d in (self.config_dir, self.data_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

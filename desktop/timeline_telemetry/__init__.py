"""Timeline Studio Telemetry Monitor: the workstation and editor watcher's core.

Importing this package does no work: no registry, no threads, no files. Everything starts
from :class:`timeline_telemetry.manager.TelemetryManager`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""PyInstaller entry point: the ``timeline-telemetry`` console script."""

from __future__ import annotations

import sys

from timeline_telemetry.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The export package's public surface and import-time behaviour."""

from __future__ import annotations

import subprocess
import sys

import timeline_telemetry.export as export


def test_all_names_exist() -> None:
    missing = [name for name in export.__all__ if not hasattr(export, name)]
    assert missing == []
    assert sorted(export.__all__) == export.__all__


def test_import_does_not_pull_in_prometheus_client() -> None:
    # prometheus-client builds a global registry and process collector when imported.
    code = ("import sys, timeline_telemetry.export, timeline_telemetry.manager; "
            "print('prometheus_client' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert res.stdout.strip() == "False"

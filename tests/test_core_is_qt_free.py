"""The core never imports Qt: every module outside ``ui/`` imports in a fresh interpreter
with no PySide6, shiboken6 or pyqtgraph appearing in ``sys.modules``."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import timeline_telemetry


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(timeline_telemetry.__path__, "timeline_telemetry."):
        if info.name.startswith("timeline_telemetry.ui"):
            continue
        names.append(info.name)
    return names


def test_core_modules_import_without_qt() -> None:
    mods = core_modules()
    assert "timeline_telemetry.manager" in mods
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""

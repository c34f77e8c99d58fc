"""The tray loads Qt through ``ui/qt_boot.load_qt`` so PySide6's per-import source check
does not keep every module's source in ``linecache`` (about 8 MB of the tray's memory).
Run in a fresh interpreter: the hook is process-wide and set once, when shiboken loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, linecache, sys
sys.path.insert(0, sys.argv[1])
from timeline_telemetry.ui.qt_boot import load_qt
swapped = load_qt()
import uses_qt, plain  # imported after Qt, as the core is
import timeline_telemetry.runtime  # the core's modules, also after Qt
feature = sys.modules["PySide6.support.feature"]
print(json.dumps({
    "swapped": swapped,
    "cached": sorted(name for name in linecache.cache if not name.startswith("<")),
    "uses_qt": feature.pyside_feature_dict.get("uses_qt"),
    "plain": feature.pyside_feature_dict.get("plain"),
}))
"""


def test_qt_loads_without_caching_module_sources(tmp_path: Path) -> None:
    (tmp_path / "uses_qt.py").write_text("from PySide6 import QtCore  # noqa\n")
    (tmp_path / "plain.py").write_text("VALUE = 1\n")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, check=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["swapped"], "PySide6 no longer has the source-check hook this app replaces"
    assert seen["cached"] == [], f"sources kept in linecache: {seen['cached'][:5]}"
    # the same answers as PySide6's own check: 0 (uses PySide6) and -1 (ignore the module)
    assert (seen["uses_qt"], seen["plain"]) == (0, -1)

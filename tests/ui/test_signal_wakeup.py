"""A signal reaches its Python handler while Qt's loop waits with nothing to do (the tray
no longer wakes twice a second to look). Run in a fresh interpreter: the wake-up fd is
process-wide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import json, os, signal, threading
from PySide6.QtCore import QCoreApplication, QTimer
from timeline_telemetry.ui.signal_wakeup import SignalWakeup

app = QCoreApplication([])
order = []

# Without the wake-up the handler would run only once this timer fires and enters Python.
fallback = QTimer()
fallback.setSingleShot(True)
fallback.timeout.connect(app.quit)

def handler(_signum, _frame):
    order.append("handler, timer pending" if fallback.isActive() else "handler, late")
    app.quit()

signal.signal(signal.SIGUSR1, handler)
wake = SignalWakeup()
fallback.start(5000)
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1)).start()
app.exec()
wake.close()
print(json.dumps({"order": order, "fd_after_close": signal.set_wakeup_fd(-1)}))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_signal_handler_runs_while_the_loop_idles(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "desktop"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["order"] == ["handler, timer pending"], result
    assert result["fd_after_close"] == -1  # the previous (no) wake-up fd is back

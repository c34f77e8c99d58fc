"""Regenerate the screenshots in ``docs/screenshots/``: the tray menu and icons, every
dashboard page and the settings dialog's form pages, light and dark.

    QT_QPA_PLATFORM=offscreen python -m timeline_telemetry.ui.screenshots docs/screenshots

Runs the real app offscreen on a throwaway data folder. Before it starts, an hour of
history is written through the real :class:`~timeline_telemetry.history.HistoryStore`: the
series this machine has (CPU, cores, memory, disk, network), at its own levels, shaped like
an editing session (idle, a 7-minute render, an export, a preview render that failed). A real
OpenTelemetry SDK client then sends those renders' traces to the agent's OTLP receiver, and
the core collects live for a few seconds. Alerts are samples (named so). ``widget.grab()``
writes each PNG: ``<name>.png`` light, ``<name>-dark.png`` dark.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .otel_sample import _SESSION as _EDITOR_SESSION

__all__ = ["main", "write_session_history"]

#: (start, length) in seconds before now of the session's work: otel_sample's renders.
_WORK = tuple((ago, length) for _root, _steps, ago, length, _failed in _EDITOR_SESSION)


def _wait(cond: Callable[[], bool], timeout_s: float) -> None:
    from PySide6.QtCore import QCoreApplication, QThread

    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        QThread.msleep(20)


def _pause(seconds: float) -> None:
    """Let the event loop run (paint, deliver the pool's results) for ``seconds``."""
    end = time.monotonic() + seconds
    _wait(lambda: time.monotonic() > end, seconds + 1)


def write_session_history(path: Path, *, now: float, step: float = 5.0) -> int:
    """Write an hour of this machine's series into the history at ``path`` (through
    HistoryStore), at its own memory size and core count, busier during :data:`_WORK`.
    Returns the number of timestamps written."""
    import psutil

    from timeline_telemetry.history import HistoryStore
    from timeline_telemetry.metrics.model import FlatSample

    rng = random.Random(7)
    mem = psutil.virtual_memory()
    cores = psutil.cpu_count() or 2
    disk = psutil.disk_usage("/")
    nics = {k: v for k, v in psutil.net_io_counters(pernic=True).items()
            if not re.search(r"^lo\d*$|loopback", k, re.IGNORECASE)}
    io = psutil.disk_io_counters()
    rows: list[tuple[float, float, float, float, float, float]] = []
    t = now - 3600.0
    while t < now - step:
        busy = next((1.0 for s, ln in _WORK if now - s <= t <= now - s + ln), 0.0)
        cpu = min(99.0, max(0.5, (78.0 if busy else 9.0) + rng.gauss(0, 6 if busy else 3)))
        used = mem.used * (1.0 + 0.6 * busy) + rng.gauss(0, mem.total * 0.004)
        rows.append((t, cpu, used,
                     max(0.0, rng.gauss(0.2 if busy else 0.05, 0.03)) * 2**20 * step,
                     max(0.0, rng.gauss(0.05, 0.01)) * 2**20 * step,
                     max(0.0, rng.gauss(180 if busy else 2, 20 if busy else 1)) * 2**20 * step))
        t += step
    # The counters end just below this machine's, so the live readings continue them (the
    # hour's traffic scaled down where the machine has counted less since it booted).
    real = (float(sum(c.bytes_recv for c in nics.values())),
            float(sum(c.bytes_sent for c in nics.values())),
            float(io.read_bytes if io else 0), float(io.write_bytes if io else 0))
    made = (sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[5] for r in rows),
            sum(r[5] for r in rows) / 3)
    scale = [min(1.0, 0.9 * have / want) if want > 0 else 1.0
             for have, want in zip(real, made, strict=True)]
    rx, tx, rd, wr = (have - want * k for have, want, k in zip(real, made, scale, strict=True))
    store = HistoryStore(path, retention=7 * 86400.0)
    try:
        for t, cpu, used, drx, dtx, drd in rows:
            rx, tx = rx + drx * scale[0], tx + dtx * scale[1]
            rd, wr = rd + drd * scale[2], wr + drd / 3 * scale[3]
            samples = [
                FlatSample("system_cpu_usage_percent", (), cpu),
                FlatSample("system_memory_usage_bytes", (), used),
                FlatSample("system_memory_total_bytes", (), float(mem.total)),
                FlatSample("system_disk_usage_bytes", (("mountpoint", "/"),), float(disk.used)),
                *(FlatSample(name, (), v) for name, v in (
                    ("system_network_bytes_received_total", rx),
                    ("system_network_bytes_sent_total", tx)) if v >= 0),
                *(FlatSample(name, (), v) for name, v in (
                    ("system_disk_read_bytes_total", rd),
                    ("system_disk_written_bytes_total", wr)) if io and v >= 0),
                *(FlatSample("system_cpu_core_usage_percent", (("cpu", str(c)),),
                             min(100.0, max(0.0, cpu + rng.gauss(0, 8))))
                  for c in range(cores)),
            ]
            store.append(t, samples)
        store.flush()
    finally:
        store.close()
    return len(rows)


def _dark_palette() -> Any:
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#202226", QPalette.ColorRole.WindowText: "#e6e8eb",
        QPalette.ColorRole.Base: "#17181b", QPalette.ColorRole.AlternateBase: "#24262b",
        QPalette.ColorRole.Text: "#e6e8eb", QPalette.ColorRole.Button: "#2b2e33",
        QPalette.ColorRole.ButtonText: "#e6e8eb", QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2b2e33",
        QPalette.ColorRole.ToolTipText: "#e6e8eb", QPalette.ColorRole.PlaceholderText: "#8b9099",
        QPalette.ColorRole.Link: "#56B4E9", QPalette.ColorRole.Mid: "#3a3d43",
        QPalette.ColorRole.Dark: "#111214", QPalette.ColorRole.Light: "#3a3d43",
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    return pal


def _tray_icons(out: Path, suffix: str, theme: str) -> None:
    """The tray icon with a value, at every size, on a panel of the theme's colour."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from .tray_icon import ICON_SIZES, value_pixmap

    states = (("healthy", 23.0), ("warning", 71.0), ("unhealthy", 96.0))
    width = sum(ICON_SIZES) + 8 * (len(ICON_SIZES) + 1)
    img = QImage(width, len(states) * 56 + 8, QImage.Format.Format_ARGB32)
    img.fill(QColor("#2b2e33" if theme == "dark" else "#eceff3"))
    p = QPainter(img)
    for row, (state, value) in enumerate(states):
        x = 8
        for size in ICON_SIZES:
            p.drawPixmap(x, 8 + row * 56 + (48 - size) // 2,
                         value_pixmap(size, state, value, theme))
            x += size + 8
    p.end()
    img.save(str(out / f"tray-icons{suffix}.png"))


def main(argv: Sequence[str] | None = None) -> int:
    """Write the tray, page and settings screenshots, light and dark, into the folder."""
    parser = argparse.ArgumentParser(prog="python -m timeline_telemetry.ui.screenshots")
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/screenshots"))
    parser.add_argument("--seconds", type=float, default=6.0, help="live collection first")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from timeline_telemetry.config import parse_config
    from timeline_telemetry.paths import AppPaths
    from timeline_telemetry.runtime import AgentRuntime
    from timeline_telemetry.ui.app import TrayApp, new_pool
    from timeline_telemetry.ui.executor import QtPoolExecutor
    from timeline_telemetry.ui.otel_sample import send_editor_traces
    from timeline_telemetry.ui.providers import AlertRow

    now = time.time()

    class SampleAlerts:
        def list_active(self) -> list[AlertRow]:
            return [AlertRow("a1", "HighCpu (sample)", "firing", "warning",
                             "CPU above 90% for 5 min", now - 2100),
                    AlertRow("a2", "CacheDiskLow (sample)", "pending", "critical",
                             "cache disk below 10 GiB", now - 60)]

        def history(self, limit: int) -> list[AlertRow]:
            return [AlertRow("a3", "SlowRender (sample)", "resolved", "warning",
                             "render slower than real time", now - 900)][:limit]

        def snooze(self, key: str, seconds: float) -> None:
            """Samples cannot be snoozed."""

        def acknowledge(self, key: str) -> None:
            """Samples cannot be acknowledged."""

    args.out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    qapp.setStyle("Fusion")
    light = qapp.style().standardPalette()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = AppPaths(root / "config", root / "data", root / "logs").ensure()
        write_session_history(paths.data_dir / "history.sqlite3", now=now)
        config = parse_config({"telemetry": {
            "metrics": {"collection_interval": "1s", "exporters": [
                {"File": {"path": str(root / "metrics.json")}}]},
            "tracing": {"enabled": False},
            "ingest": {"otlp": {"port": 0}},
            "health": {"check_interval": "2s", "checks": [
                {"DiskSpace": {"name": "media", "path": str(root),
                               "footage_bitrate_mbps": 100}},
                {"DiskSpace": {"name": "cache", "path": str(root)}},
                {"Memory": {}},
            ]},
        }}, source="screenshots", base_dir=root)
        pool = new_pool()
        runtime = AgentRuntime(config, paths, mode="tray", executor=QtPoolExecutor(pool))
        app = TrayApp(runtime, paths, alerts=SampleAlerts(), tray_available=True, pool=pool)
        runtime.start()
        app.start()
        receiver = runtime.manager.receiver
        assert receiver is not None
        send_editor_traces(receiver.bound_port, now=now)
        _pause(args.seconds)
        for theme, palette, suffix in (("light", light, ""), ("dark", _dark_palette(), "-dark")):
            qapp.setPalette(palette)
            hints = qapp.styleHints()
            if hasattr(hints, "setColorScheme"):
                hints.setColorScheme(Qt.ColorScheme.Dark if theme == "dark"
                                     else Qt.ColorScheme.Light)
            _shoot(app, args.out, suffix, theme)
        app.quit()
    del qapp
    print(f"screenshots written to {args.out}")
    return 0


def _shoot(app: Any, out: Path, suffix: str, theme: str) -> None:
    """Every page of a dashboard built for the current palette, the menu and settings."""
    from .dashboard.window import TAB_NAMES
    from .settings import SettingsDialog

    _tray_icons(out, suffix, theme)
    menu = app.tray.menu
    app.tray.refresh_alerts()
    _pause(0.5)
    menu.adjustSize()
    menu.grab().save(str(out / f"tray-menu{suffix}.png"))
    if app.dashboard is not None:  # colours are read when it is built: build it again
        app.dashboard.hide()
        app.dashboard.deleteLater()
        app.dashboard = None
    app.show_dashboard("")
    d = app.dashboard
    assert d is not None
    d.resize(1280, 860)
    for name in TAB_NAMES:
        d.open_item(name)
        if name == "metrics":
            d.metrics_tab.window_box.setCurrentIndex(1)  # 1 h: the recorded session
            _wait(lambda: len(d.metrics_tab.annotations) >= 3, 10)
        elif name == "traces":
            d.traces_tab.refresh()
            _wait(lambda: d.traces_tab.table.rowCount() >= 3, 10)
            d.traces_tab.table.setCurrentCell(0, 0)
            _wait(lambda: bool(d.traces_tab.waterfall.spans), 10)
        elif name == "overview":
            _wait(lambda: "/s" in d.overview_tab.cards["net"].value.text(), 10)
        _pause(1.0)
        d.grab().save(str(out / f"tab-{name}{suffix}.png"))
    dialog = SettingsDialog(app.paths, app.controller.runner, parent=d)
    dialog.show()
    for page in ("general", "network"):
        dialog.tabs.setCurrentWidget(getattr(dialog, f"{page}_page"))
        _pause(0.3)
        dialog.grab().save(str(out / f"settings-{page}{suffix}.png"))
    dialog.close()


if __name__ == "__main__":
    sys.exit(main())

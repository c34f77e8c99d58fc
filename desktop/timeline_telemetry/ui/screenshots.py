"""Regenerate the screenshots in ``docs/screenshots/``: the tray menu, every dashboard tab and
the settings dialog's form pages.

    QT_QPA_PLATFORM=offscreen python -m timeline_telemetry.ui.screenshots docs/screenshots

Runs the real app offscreen on a throwaway data folder for a few seconds of collection, with
sample alerts and spans (labelled as samples) so those tabs are not empty; ``widget.grab()``
writes each PNG.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]


def _wait(app: object, cond: Callable[[], bool], timeout_s: float) -> None:
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)



class _SampleBundle:
    """Stands in for the diagnostics bundle in screenshots (nothing is written)."""

    def preview(self) -> list[tuple[str, int]]:
        return [("README.txt", 900), ("manifest.json", 2000)]

    def write(self, folder: Path, progress: Callable[[str, float], None]) -> Path:
        progress("done", 1.0)
        return folder / "sample.zip"


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``tray-menu.png``, ``tab-<name>.png`` and ``settings-<page>.png`` into the output
    folder."""
    parser = argparse.ArgumentParser(prog="python -m timeline_telemetry.ui.screenshots")
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/screenshots"))
    parser.add_argument("--seconds", type=float, default=8.0, help="collection time first")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from timeline_telemetry.config import parse_config
    from timeline_telemetry.ingest.trace_store import StoredSpan
    from timeline_telemetry.paths import AppPaths
    from timeline_telemetry.runtime import AgentRuntime
    from timeline_telemetry.ui.app import TrayApp, new_pool
    from timeline_telemetry.ui.executor import QtPoolExecutor
    from timeline_telemetry.ui.providers import AlertRow

    class SampleAlerts:
        def list_active(self) -> list[AlertRow]:
            now = time.time()
            return [AlertRow("a1", "HighCpu (sample)", "firing", "warning",
                             "CPU above 90% for 5 min", now - 420),
                    AlertRow("a2", "CacheDiskLow (sample)", "pending", "critical",
                             "cache disk below 10 GiB", now - 60)]

        def history(self, limit: int) -> list[AlertRow]:
            return [AlertRow("a3", "EditorDown (sample)", "resolved", "critical",
                             "editor restarted", time.time() - 3600)][:limit]

        def snooze(self, key: str, seconds: float) -> None:
            """Samples cannot be snoozed."""

        def acknowledge(self, key: str) -> None:
            """Samples cannot be acknowledged."""

    args.out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = AppPaths(root / "config", root / "data", root / "logs").ensure()
        config = parse_config({"telemetry": {
            "metrics": {"collection_interval": "1s", "exporters": [
                {"File": {"path": str(root / "metrics.json")}}]},
            "tracing": {"enabled": False},
            "ingest": {"otlp": {"port": 0}},
            "health": {"check_interval": "2s", "checks": [
                {"DiskSpace": {"name": "scratch-disk", "path": str(root)}},
                {"Memory": {}},
            ]},
        }}, source="screenshots", base_dir=root)
        pool = new_pool()
        runtime = AgentRuntime(config, paths, mode="tray", executor=QtPoolExecutor(pool))
        runtime.start()
        app = TrayApp(runtime, paths, alerts=SampleAlerts(), bundle=_SampleBundle(),
                      tray_available=True, pool=pool)
        app.start()
        end = time.monotonic() + args.seconds
        _wait(qapp, lambda: time.monotonic() > end, args.seconds + 1)
        menu = app.tray.menu
        app.tray.refresh_alerts()
        _wait(qapp, lambda: False, 0.5)
        menu.adjustSize()
        menu.grab().save(str(args.out / "tray-menu.png"))
        app.show_dashboard("")
        d = app.dashboard
        assert d is not None
        t0 = time.time_ns() - 3_000_000_000
        spans = [StoredSpan("ab" * 16, f"{i:016x}", "" if i == 0 else f"{0:016x}", name,
                            "timeline-studio (sample)", t0 + start, t0 + end_, (), (), err, "",
                            1)
                 for i, (name, start, end_, err) in enumerate([
                     ("export_timeline", 0, 2_400_000_000, False),
                     ("decode_clip", 50_000_000, 900_000_000, False),
                     ("apply_effects", 900_000_000, 1_700_000_000, False),
                     ("encode_h264", 1_700_000_000, 2_350_000_000, True)])]
        for i, name in enumerate(("metrics", "health", "alerts", "traces", "exporters")):
            d.tabs.setCurrentIndex(i)
            d.metrics_tab.refresh(force=True)
            _wait(qapp, lambda: False, 1.0)
            if name == "traces":
                d.traces_tab.show_spans(spans)
                d.traces_tab._show_trace(spans)
            d.grab().save(str(args.out / f"tab-{name}.png"))
        from .settings import SettingsDialog

        dialog = SettingsDialog(paths, app.controller.runner, parent=d)
        dialog.show()
        for page in ("general", "network"):
            dialog.tabs.setCurrentWidget(getattr(dialog, f"{page}_page"))
            _wait(qapp, lambda: False, 0.3)
            dialog.grab().save(str(args.out / f"settings-{page}.png"))
        dialog.close()
        app.quit()
    del qapp
    print(f"screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


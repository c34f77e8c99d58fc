"""End to end: the real tray app under Xvfb with a private D-Bus session, a StatusNotifierItem
watcher and a recording notification server. The tray registers, its tooltip and menu are
read over D-Bus, a failing disk check produces a native notification, Quit exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop_session import (
    Desktop,
    desktop,
    item_address,
    menu_labels,
    missing_tools,
    wait_for,
)
from jeepney import DBusAddress

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}"),
]


def _config(tmp_path: Path) -> Path:
    cfg = {"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": []},
        "tracing": {"enabled": False},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "1s", "checks": [
            {"DiskSpace": {"name": "scratch-disk", "path": str(tmp_path),
                           "max_used_fraction": 0.0001, "warning_margin": 0.00005}},
        ]},
    }}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    return path


def _icon_pixmaps(d: Desktop, item: DBusAddress) -> tuple[tuple[int, int, bytes], ...]:
    """The SNI ``IconPixmap`` (width, height, ARGB32 bytes per size), as a panel reads it."""
    return tuple((w, h, bytes(data)) for w, h, data in d.bus.get_prop(
        item, "org.kde.StatusNotifierItem", "IconPixmap"))


def test_tray_registers_notifies_and_quits(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    # The tray icon shows the CPU value (Settings, "Tray icon"; saved in ui.json).
    (tmp_path / "home" / "config").mkdir(parents=True)
    (tmp_path / "home" / "config" / "ui.json").write_text('{"tray_value": "cpu"}')
    with desktop(tmp_path) as d:
        env = {**d.env, "TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}
        app = subprocess.Popen([sys.executable, "-m", "timeline_telemetry.ui", "--config",
                                str(cfg)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        try:
            items = wait_for(d.bus.items, 20, "the tray icon to register")
            item = item_address(items[0])

            def tooltip() -> str:
                _icon, _pixmaps, title, text = d.bus.get_prop(
                    item, "org.kde.StatusNotifierItem", "ToolTip")
                return f"{title}\n{text}"

            tip = wait_for(lambda: "Unhealthy" in tooltip() and tooltip(), 20,
                           "the tooltip to show the failing check")
            assert "scratch-disk" in tip
            assert "CPU:" in tip and "Memory:" in tip and "Editor:" in tip

            # The icon is painted with the value: its pixmaps change as the CPU load does.
            first = wait_for(lambda: _icon_pixmaps(d, item), 20, "an IconPixmap")
            assert any(w >= 16 for w, _h, _b in first)
            wait_for(lambda: _icon_pixmaps(d, item) != first, 30,
                     "the icon's pixmap to change with the CPU value")

            call = wait_for(lambda: d.notifications.calls, 20, "a Notify call")[0]
            _app, _replaces, _icon, summary, body, actions, _hints, _timeout = call
            assert summary == "scratch-disk: Unhealthy"
            # the server offers actions: the tray's own notification, with "Open dashboard"
            assert "Open dashboard" in actions
            assert "used" in body.lower() or "%" in body

            menu_path = d.bus.get_prop(item, "org.kde.StatusNotifierItem", "Menu")
            menu = DBusAddress(menu_path, bus_name=item.bus_name,
                               interface="com.canonical.dbusmenu")
            _rev, layout = d.bus.call(menu, "GetLayout", "iias", (0, -1, []))
            entries = menu_labels(layout)
            labels = [label for _id, label, _c in entries if label]
            assert labels == [
                "Open dashboard", "Health", "Active alerts", "Pause collection",
                "Do not disturb", "Reload rules", "Export diagnostics bundle…",
                "Open config folder", "Open logs", "Quit",
            ]
            health = next(c for _i, label, c in entries if label == "Health")
            health_labels = [c[1][1].get("label", ("s", ""))[1] for c in health]
            assert "scratch-disk: Unhealthy" in health_labels

            quit_id = next(i for i, label, _c in entries if label == "Quit")
            d.bus.call(menu, "Event", "isvu", (quit_id, "clicked", ("s", ""), int(time.time())))
            assert app.wait(20) == 0
        finally:
            if app.poll() is None:
                app.kill()
            _out, err = app.communicate(timeout=10)
        assert app.returncode == 0, err.decode(errors="replace")

"""The tray icon with a value: the painter gives different pixels for different values,
every size at 1x and 2x, contrast on both panels; the tray repaints only when the rounded
value changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import TrayApp
from timeline_telemetry.ui.icons import state_icon
from timeline_telemetry.ui.overview_model import tray_value
from timeline_telemetry.ui.prefs import UiPrefs, load_prefs, save_prefs
from timeline_telemetry.ui.tray_icon import ICON_SIZES, STATE_COLOURS, value_icon, value_pixmap


def _bytes(img: QImage) -> bytes:
    return bytes(img.constBits())


def _count(img: QImage, colour: str) -> int:
    want = QColor(colour)
    return sum(1 for y in range(img.height()) for x in range(img.width())
               if img.pixelColor(x, y).rgb() == want.rgb() and img.pixelColor(x, y).alpha() > 250)


def test_two_values_paint_different_pixels(qtbot: QtBot) -> None:
    for size in ICON_SIZES:
        low = value_pixmap(size, "healthy", 10.0, "dark").toImage()
        high = value_pixmap(size, "healthy", 90.0, "dark").toImage()
        assert (low.width(), low.height()) == (size, size)
        assert _bytes(low) != _bytes(high), size
        # the bar is filled in the health colour: more of it at 90 % than at 10 %
        assert _count(high, STATE_COLOURS["healthy"]) > _count(low, STATE_COLOURS["healthy"])


def test_hidpi_and_health_colour(qtbot: QtBot) -> None:
    pm = value_pixmap(16, "unhealthy", 50.0, "light", dpr=2.0)
    assert pm.devicePixelRatio() == 2.0
    assert (pm.width(), pm.height()) == (32, 32)
    img = pm.toImage()
    assert _count(img, STATE_COLOURS["unhealthy"]) > 0
    assert _count(img, STATE_COLOURS["healthy"]) == 0


def test_outline_follows_the_panel(qtbot: QtBot) -> None:
    def darkest_opaque(theme: str) -> int:
        img = value_pixmap(32, "healthy", 0.0, theme).toImage()
        return min((img.pixelColor(x, y).lightness() for y in range(32) for x in range(32)
                    if img.pixelColor(x, y).alpha() > 250), default=255)
    # on a light panel the outline is dark; on a dark panel it is light (no dark edge)
    assert darkest_opaque("light") < 60
    assert darkest_opaque("dark") > 60


def test_icon_has_every_size(qtbot: QtBot) -> None:
    icon = value_icon("warning", 33.0, "dark")
    sizes = {s.width() for s in icon.availableSizes()}
    assert set(ICON_SIZES) <= sizes


def test_tray_shows_the_chosen_value(qtbot: QtBot, runtime: AgentRuntime,
                                     paths: AppPaths) -> None:
    save_prefs(paths.config_dir, UiPrefs("cpu"))
    app = TrayApp(runtime, paths, tray_available=True)
    runtime.start()
    try:
        tray = app.tray
        assert tray.tray_value == "cpu"  # read from ui.json at start
        qtbot.waitUntil(lambda: tray.icon_key is not None and tray.icon_key[2] is not None,
                        timeout=10000)
        snap = app.controller.last_snapshot
        value = tray_value(snap, "cpu")
        assert value is not None and tray.icon_key is not None
        assert tray.icon_key[2] == round(value)
        painted = tray.tray.icon().pixmap(32).toImage()
        plain = state_icon(tray.icon_key[0]).pixmap(32).toImage()
        assert _bytes(painted) != _bytes(plain)
        tray.set_tray_value("off")
        assert tray.icon_key is not None and tray.icon_key[2] is None
        tray.set_tray_value("ram")
        assert tray.icon_key is not None and tray.icon_key[2] is not None
        with pytest.raises(ValueError):
            tray.set_tray_value("disk")
    finally:
        app.quit()


def test_settings_option_saves_and_applies(qtbot: QtBot, paths: AppPaths, tmp_path: Path
                                           ) -> None:
    from PySide6.QtCore import QThreadPool

    from timeline_telemetry.ui.settings import SettingsDialog
    from timeline_telemetry.ui.workers import JobRunner

    pool = QThreadPool()
    applied: list[str] = []
    d = SettingsDialog(paths, JobRunner(pool), keyring_set=lambda *_: None,
                       environ={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "x")},
                       on_tray_value=applied.append)
    qtbot.addWidget(d)
    assert d.tray_value.currentData() == "off"  # the default
    d.tray_value.setCurrentIndex(d.tray_value.findData("gpu"))
    assert applied == ["gpu"]
    assert load_prefs(paths.config_dir).tray_value == "gpu"
    assert not (paths.config_dir / "config.json").exists()  # agent config untouched
    pool.waitForDone(2000)

"""Start-up rules: no display -> exit 2 with a pointer to run --headless; one instance per
user; the tray alone never imports pyqtgraph or numpy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.ui.app import run_tray_app
from timeline_telemetry.ui.desktop import has_display
from timeline_telemetry.ui.single import SingleInstance, server_name


def test_has_display() -> None:
    assert not has_display({}, "linux")
    assert has_display({"DISPLAY": ":0"}, "linux")
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert has_display({}, "win32")


def test_no_display_exits_2_with_headless_hint(
    capsys: pytest.CaptureFixture[str], paths: AppPaths, tmp_path: Path
) -> None:
    from ui_support import make_config

    code = run_tray_app(make_config(tmp_path), paths, ["x"], environ={})  # type: ignore[arg-type]
    assert code == 2
    assert "run --headless" in capsys.readouterr().err


def test_a_tray_beside_a_running_agent_exits_1_naming_it_in_its_dialog(
    qtbot: QtBot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    paths: AppPaths, tmp_path: Path
) -> None:
    """A headless agent holds the home: the tray exits 1 with one line naming it (pid,
    endpoints), and its dialog says the same line."""
    from ui_support import make_config

    import timeline_telemetry.ui.startup_error as startup_error
    from timeline_telemetry.runtime import AgentRuntime

    told: list[str] = []
    monkeypatch.setattr(startup_error, "report_startup_failure",
                        lambda text, **_kw: told.append(text))
    config = make_config(tmp_path)
    headless = AgentRuntime(config, paths, mode="headless")  # type: ignore[arg-type]
    headless.start()
    try:
        receiver = headless.listeners()["otlp-receiver"]
        code = run_tray_app(config, paths, ["x"], environ={"DISPLAY": ":0"})  # type: ignore[arg-type]
    finally:
        headless.stop()
    err = capsys.readouterr().err
    assert code == 1
    who = f"already running for {paths.data_dir}: headless (pid {os.getpid()}"
    assert len(told) == 1 and who in told[0] and receiver in told[0]
    assert f"timeline-telemetry: {told[0]}" in err


def test_second_instance_activates_first(qtbot: QtBot, tmp_path: Path) -> None:
    name = server_name(str(tmp_path))
    first, second = SingleInstance(name), SingleInstance(name)
    try:
        assert first.claim()
        with qtbot.waitSignal(first.activated, timeout=5000) as shown:
            assert not second.claim()
        assert shown.args == [""]  # the default page
        with qtbot.waitSignal(first.activated, timeout=5000) as shown:
            assert not SingleInstance(name).claim("metrics")  # `--open metrics`
        assert shown.args == ["metrics"]
    finally:
        first.release()
    third = SingleInstance(name)
    assert third.claim()  # the name is free again
    third.release()


def test_tray_alone_does_not_import_plots(tmp_path: Path) -> None:
    code = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {str(Path(__file__).parent)!r})
from pathlib import Path
from PySide6.QtWidgets import QApplication
from ui_support import make_config
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import TrayApp, new_pool
from timeline_telemetry.ui.executor import QtPoolExecutor
tmp = Path({str(tmp_path)!r})
qapp = QApplication([])
paths = AppPaths(tmp / "c", tmp / "d", tmp / "l").ensure()
pool = new_pool()
rt = AgentRuntime(make_config(tmp), paths, mode="tray", executor=QtPoolExecutor(pool))
rt.start()
app = TrayApp(rt, paths, tray_available=True, pool=pool)
app.start()
app.controller.runner.wait(10000)
qapp.processEvents()
print(sorted(n for n in ("pyqtgraph", "numpy") if n in sys.modules))
app.show_dashboard("")
print(sorted(n for n in ("pyqtgraph", "numpy") if n in sys.modules))
app.quit()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["[]", "['numpy', 'pyqtgraph']"]


def test_screenshots_command_writes_every_tab(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    subprocess.run([sys.executable, "-m", "timeline_telemetry.ui.screenshots", str(out),
                    "--seconds", "2"], capture_output=True, timeout=120, check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    names = sorted(p.name for p in out.iterdir())
    light = ["settings-general", "settings-network", "tab-alerts", "tab-exporters",
             "tab-health", "tab-metrics", "tab-overview", "tab-traces", "tray-icons",
             "tray-menu"]
    assert names == sorted([f"{n}.png" for n in light] + [f"{n}-dark.png" for n in light])
    assert all((out / n).stat().st_size > 3000 for n in names if "icons" not in n)
    # the dark pages are dark: the plots' background is
    from PySide6.QtGui import QImage

    dark, bright = QImage(str(out / "tab-metrics-dark.png")), QImage(str(out / "tab-metrics.png"))
    assert dark.pixelColor(300, 300).lightness() < 80 < bright.pixelColor(300, 300).lightness()


def test_a_startup_failure_is_said_in_a_dialog_with_the_config_folder(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from timeline_telemetry.ui.startup_error import HEADLINE, startup_failure_box

    reason = "invalid configuration (config.json):\ntelemetry.metrics.collection_interval: ..."
    box, open_button = startup_failure_box(reason, folder=tmp_path / "config")
    qtbot.addWidget(box)
    assert box.icon() is QMessageBox.Icon.Critical
    assert box.text() == HEADLINE and box.informativeText() == reason
    assert open_button is not None and open_button.text() == "Open config folder"
    assert open_button.toolTip() == str(tmp_path / "config")
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Close)
    box2, none = startup_failure_box("port 9090 is in use", folder=None)
    qtbot.addWidget(box2)
    assert none is None and len(box2.buttons()) == 1


def test_tray_with_a_broken_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """Offscreen there is nobody to show the dialog to: the problems go to stderr only."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.json").write_text(
        '{"telemetry": {"metrics": {"collection_interval": "soon"}}}')
    proc = subprocess.run(
        [sys.executable, "-m", "timeline_telemetry.cli"], capture_output=True, text=True,
        timeout=60, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "TIMELINE_TELEMETRY_HOME": str(home)})
    assert proc.returncode == 2
    assert "telemetry.metrics.collection_interval" in proc.stderr

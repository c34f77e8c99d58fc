"""The Settings autostart switch's back end on each OS, the OS layer injected: an XDG
config folder, a fake home for macOS' LaunchAgents, a fake Run key for Windows."""

from __future__ import annotations

import configparser
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from timeline_telemetry.ui.autostart import (
    DESKTOP_NAME,
    LAUNCH_AGENT_LABEL,
    RUN_VALUE,
    WinRegRunKey,
    autostart_enabled,
    autostart_file,
    desktop_entry,
    set_autostart,
    tray_command,
)

PACKAGED = Path(__file__).resolve().parents[2] / "packaging" / "linux"


class FakeRunKey:
    """A per-user Run key in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def _entry(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser["Desktop Entry"]


# -- Linux / XDG --------------------------------------------------------------------------
def test_xdg_entry_starts_the_tray_under_the_packaged_file_name(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path / "home")}
    path = set_autostart(True, command=["/opt/tt bin/timeline-telemetry-tray"], environ=env,
                         platform="linux")
    assert path == tmp_path / "cfg" / "autostart" / DESKTOP_NAME
    assert path.name == (PACKAGED / "autostart" / DESKTOP_NAME).name
    entry = _entry(Path(path).read_text(encoding="utf-8"))
    assert shlex.split(entry["Exec"]) == ["/opt/tt bin/timeline-telemetry-tray"]
    assert entry["Icon"] == "timeline-telemetry"
    assert autostart_enabled(env, platform="linux")
    assert [p.name for p in (tmp_path / "cfg" / "autostart").iterdir()] == [DESKTOP_NAME]
    set_autostart(False, environ=env, platform="linux")
    assert not autostart_enabled(env, platform="linux")


def test_xdg_entry_has_the_packaged_autostart_keys() -> None:
    ours = _entry(desktop_entry(["timeline-telemetry"]))
    packaged = _entry((PACKAGED / "autostart" / DESKTOP_NAME).read_text(encoding="utf-8"))
    assert "--headless" not in packaged["Exec"] and "run" not in packaged["Exec"].split()
    same = ("Type", "Name", "Icon", "Terminal", "NoDisplay", "X-GNOME-Autostart-enabled")
    assert {k: ours[k] for k in same} == {k: packaged[k] for k in same}


def test_xdg_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("needs desktop-file-validate (apt-get install desktop-file-utils)")
    path = tmp_path / DESKTOP_NAME
    path.write_text(desktop_entry([sys.executable, "-m", "timeline_telemetry.ui"]))
    proc = subprocess.run([validate, str(path)], capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


# -- the command ----------------------------------------------------------------------------
def test_tray_command_prefers_the_bundle_then_the_gui_script(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.touch()
    assert tray_command("linux", str(python), frozen=True) == [str(python)]
    assert tray_command("linux", str(python), frozen=False) == [
        str(python), "-m", "timeline_telemetry.ui"]
    (tmp_path / "bin" / "timeline-telemetry-tray").touch()
    assert tray_command("linux", str(python), frozen=False) == [
        str(tmp_path / "bin" / "timeline-telemetry-tray")]
    (tmp_path / "bin" / "timeline-telemetry-tray.exe").touch()
    assert tray_command("win32", str(python), frozen=False) == [
        str(tmp_path / "bin" / "timeline-telemetry-tray.exe")]


# -- Windows: the per-user Run key ----------------------------------------------------------
def test_windows_switch_sets_and_deletes_the_run_value(tmp_path: Path) -> None:
    reg = FakeRunKey()
    env = {"HOME": str(tmp_path)}
    assert not autostart_enabled(env, platform="win32", registry=reg)
    where = set_autostart(True, command=[r"C:\Program Files\TT\timeline-telemetry-tray.exe"],
                          environ=env, platform="win32", registry=reg)
    assert where == PureWindowsPath(
        r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\TimelineTelemetry")
    # quoted, as the Run key needs for a path with spaces
    assert reg.values == {RUN_VALUE: r'"C:\Program Files\TT\timeline-telemetry-tray.exe"'}
    assert autostart_enabled(env, platform="win32", registry=reg)
    set_autostart(False, environ=env, platform="win32", registry=reg)
    assert reg.values == {}
    set_autostart(False, environ=env, platform="win32", registry=reg)  # already off: fine
    assert not list(tmp_path.iterdir()), "Windows autostart writes no file"


@pytest.mark.skipif(sys.platform == "win32", reason="the real registry is there")
def test_the_real_registry_is_refused_off_windows() -> None:
    with pytest.raises(OSError, match="only on Windows"):
        WinRegRunKey().get(RUN_VALUE)


# -- macOS: a LaunchAgent -------------------------------------------------------------------
def test_macos_switch_writes_a_launch_agent_in_the_home(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    cmd = ["/Applications/Timeline Telemetry.app/Contents/MacOS/timeline-telemetry"]
    path = set_autostart(True, command=cmd, environ=env, platform="darwin")
    assert path == (tmp_path / "home" / "Library" / "LaunchAgents"
                    / f"{LAUNCH_AGENT_LABEL}.plist")
    assert autostart_file(env, "darwin") == path
    agent = plistlib.loads(Path(path).read_bytes())
    assert agent["Label"] == LAUNCH_AGENT_LABEL
    assert agent["ProgramArguments"] == cmd and agent["RunAtLoad"] is True
    assert not (tmp_path / "xdg").exists()
    assert autostart_enabled(env, platform="darwin")
    set_autostart(False, environ=env, platform="darwin")
    assert not autostart_enabled(env, platform="darwin")
    assert not list(Path(path).parent.iterdir())


def test_plutil_accepts_the_launch_agent(tmp_path: Path) -> None:
    plutil = shutil.which("plutil")
    if plutil is None:
        pytest.skip("plutil is macOS' (the plist is parsed by plistlib above)")
    path = set_autostart(True, command=["/usr/local/bin/timeline-telemetry-tray"],
                         environ={"HOME": str(tmp_path)}, platform="darwin")
    proc = subprocess.run([plutil, "-lint", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

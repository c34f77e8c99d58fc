"""Start the tray app at login: the Settings switch's back end (Qt-free).

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/timeline-telemetry.desktop``
  (default ``~/.config``), the same file name and the same tray command as the packaged
  ``packaging/linux/autostart/timeline-telemetry.desktop``.
- Windows: the per-user Run key, ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``
  value ``TimelineTelemetry``.
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/com.timelinestudio.telemetry.plist``
  (``RunAtLoad``), read by launchd at the next login.

The OS layer is injectable (``platform``, ``environ`` for the home and XDG folders,
``registry`` for the Run key), so every path is tested on any machine. See docs/autostart.md.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath, PureWindowsPath
from typing import Protocol

__all__ = ["DESKTOP_NAME", "LAUNCH_AGENT_LABEL", "RUN_KEY", "RUN_VALUE", "RunKey",
           "WinRegRunKey", "autostart_enabled", "autostart_file", "desktop_entry",
           "launch_agent", "set_autostart", "tray_command"]

DESKTOP_NAME = "timeline-telemetry.desktop"
LAUNCH_AGENT_LABEL = "com.timelinestudio.telemetry"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "TimelineTelemetry"


class RunKey(Protocol):
    """The per-user Run key (``HKCU\\...\\Run``): one string value per program."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class WinRegRunKey:
    """:class:`RunKey` on the real registry (Windows only)."""

    def get(self, name: str) -> str | None:
        if sys.platform == "win32":
            import winreg
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    value, _kind = winreg.QueryValueEx(key, name)
            except FileNotFoundError:
                return None
            return str(value)
        raise OSError("the Windows registry exists only on Windows")

    def set(self, name: str, value: str) -> None:
        if sys.platform == "win32":
            import winreg
            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0,
                                    winreg.KEY_SET_VALUE) as key:
                winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)
            return
        raise OSError("the Windows registry exists only on Windows")

    def delete(self, name: str) -> None:
        if sys.platform == "win32":
            import winreg
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0,
                                    winreg.KEY_SET_VALUE) as key:
                    winreg.DeleteValue(key, name)
            except FileNotFoundError:
                pass
            return
        raise OSError("the Windows registry exists only on Windows")


def _kind(platform: str) -> str:
    if platform == "win32":
        return "windows"
    if platform == "darwin":
        return "macos"
    return "xdg"


def tray_command(platform: str = sys.platform, executable: str = sys.executable,
                 frozen: bool = bool(getattr(sys, "frozen", False))) -> list[str]:
    """The command that starts the tray app from this installation.

    A PyInstaller bundle is its own program; a pip/pipx install has the
    ``timeline-telemetry-tray`` gui-script beside its Python (no console window on
    Windows); otherwise ``python -m timeline_telemetry.ui``.
    """
    if frozen:
        return [executable]
    here = Path(executable).parent
    script = here / ("timeline-telemetry-tray.exe" if platform == "win32"
                     else "timeline-telemetry-tray")
    if script.is_file():
        return [str(script)]
    return [executable, "-m", "timeline_telemetry.ui"]


def autostart_file(environ: Mapping[str, str] = os.environ,
                   platform: str = sys.platform) -> PurePath:
    """Where the autostart entry lives for this user (for Windows: the registry value)."""
    kind = _kind(platform)
    home = Path(environ.get("HOME", "~")).expanduser()
    if kind == "windows":
        return PureWindowsPath("HKEY_CURRENT_USER", RUN_KEY, RUN_VALUE)
    if kind == "macos":
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    base = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base).expanduser() / "autostart" / DESKTOP_NAME


def desktop_entry(command: list[str]) -> str:
    """The XDG ``.desktop`` text that starts ``command`` at login (desktop-file-validate
    clean; the same keys as the packaged autostart entry)."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.0\n"
        "Name=Timeline Telemetry\n"
        "Comment=Workstation telemetry monitor for Timeline Studio (tray)\n"
        f"Exec={shlex.join(command)}\n"
        "Icon=timeline-telemetry\n"
        "Terminal=false\n"
        "NoDisplay=true\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-GNOME-Autostart-Delay=10\n"
        "X-KDE-autostart-after=panel\n"
    )


def launch_agent(command: list[str]) -> bytes:
    """The LaunchAgent plist that starts ``command`` in the user's GUI session at login."""
    return plistlib.dumps({
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    })


def autostart_enabled(environ: Mapping[str, str] = os.environ, *,
                      platform: str = sys.platform,
                      registry: RunKey | None = None) -> bool:
    """True when the autostart entry exists."""
    if _kind(platform) == "windows":
        return (registry or WinRegRunKey()).get(RUN_VALUE) is not None
    return Path(autostart_file(environ, platform)).is_file()


def set_autostart(on: bool, *, command: list[str] | None = None,
                  environ: Mapping[str, str] = os.environ,
                  platform: str = sys.platform,
                  registry: RunKey | None = None) -> PurePath:
    """Write (``on``) or remove the entry; returns where it is. Files are written atomically."""
    kind = _kind(platform)
    where = autostart_file(environ, platform)
    if kind == "windows":
        reg = registry or WinRegRunKey()
        if on:
            reg.set(RUN_VALUE, subprocess.list2cmdline(command or tray_command(platform)))
        else:
            reg.delete(RUN_VALUE)
        return where
    path = Path(where)
    if not on:
        path.unlink(missing_ok=True)
        return path
    cmd = command or tray_command(platform)
    data = (launch_agent(cmd) if kind == "macos"
            else desktop_entry(cmd).encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path

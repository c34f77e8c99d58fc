"""Autostart at login on Linux: an XDG autostart ``.desktop`` file (Qt-free).

``$XDG_CONFIG_HOME/autostart/timeline-telemetry.desktop`` (default ``~/.config``). Windows
and macOS are described in ``docs/autostart.md``.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DESKTOP_NAME", "autostart_enabled", "autostart_file", "desktop_entry",
           "set_autostart"]

DESKTOP_NAME = "timeline-telemetry.desktop"


def autostart_file(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the autostart entry lives for this user."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "autostart" / DESKTOP_NAME


def desktop_entry(command: list[str]) -> str:
    """The ``.desktop`` text that starts ``command`` at login."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Timeline Telemetry\n"
        "Comment=Workstation telemetry monitor for Timeline Studio\n"
        f"Exec={shlex.join(command)}\n"
        "Icon=utilities-system-monitor\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def autostart_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the autostart entry exists."""
    return autostart_file(environ).is_file()


def set_autostart(on: bool, *, command: list[str] | None = None,
                  environ: Mapping[str, str] = os.environ) -> Path:
    """Write (``on``) or remove the entry; returns its path. Written atomically."""
    path = autostart_file(environ)
    if not on:
        path.unlink(missing_ok=True)
        return path
    cmd = command or [sys.executable, "-m", "timeline_telemetry.ui"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(desktop_entry(cmd), encoding="utf-8")
    os.replace(tmp, path)
    return path

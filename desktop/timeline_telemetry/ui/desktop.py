"""The desktop around the app: whether a GUI can open here, and showing a folder.

Apart from ``app`` so that the start-up error box (``startup_error``), which ``app`` shows,
needs nothing from ``app``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

__all__ = ["has_display", "open_folder"]


def has_display(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether a GUI can open: always on Windows/macOS; on other systems a DISPLAY, a
    WAYLAND_DISPLAY, or an explicit ``QT_QPA_PLATFORM`` (offscreen for screenshots)."""
    if platform.startswith(("win", "darwin")):
        return True
    return any(environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def open_folder(path: Path) -> None:
    """Create ``path`` if needed and show it in the desktop's file manager."""
    path.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

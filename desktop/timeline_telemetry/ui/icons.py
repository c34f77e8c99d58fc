"""The tray icons: SVGs shipped in ``ui/icons/`` (copies of ``resources/icons/``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QIcon

__all__ = ["STATES", "icon_path", "panel_theme", "state_icon"]

STATES = ("healthy", "warning", "unhealthy", "unknown", "paused")


def icon_path(state: str, theme: str) -> Path:
    """The SVG for ``state`` on a ``light`` or ``dark`` panel (``ValueError`` if unknown)."""
    if state not in STATES or theme not in ("light", "dark"):
        raise ValueError(f"no icon for state {state!r} / theme {theme!r}")
    return Path(str(resources.files(__package__).joinpath("icons", f"{state}-{theme}.svg")))


def panel_theme() -> str:
    """``dark`` when the application palette's window colour is dark, else ``light``."""
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return "light"
    return "dark" if app.palette().window().color().lightness() < 128 else "light"


def state_icon(state: str) -> QIcon:
    """The QIcon for ``state`` drawn for the current panel theme."""
    return QIcon(str(icon_path(state, panel_theme())))

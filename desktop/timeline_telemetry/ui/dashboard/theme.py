"""The dashboard's colours: the system's light or dark scheme, and the Okabe-Ito palette
(safe for the common kinds of colour blindness) for series and levels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

__all__ = ["OKABE_ITO", "is_dark", "level_colour", "plot_colours", "series_colour"]

#: Okabe & Ito (2008), without black: blue, orange, bluish green, vermillion, sky blue,
#: reddish purple, yellow, grey.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442",
             "#999999")
#: On a dark background the light members come first (blue is too dark there).
_ON_DARK = ("#56B4E9", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#F0E442", "#0072B2",
            "#999999")


def is_dark(palette: QPalette | None = None) -> bool:
    """The system scheme is dark: ``QStyleHints.colorScheme()`` (Qt 6.5+) when it knows,
    else the window colour's lightness."""
    app = QGuiApplication.instance()
    if palette is None and isinstance(app, QGuiApplication):
        scheme = app.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    if palette is None:
        palette = app.palette() if isinstance(app, QGuiApplication) else QPalette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def series_colour(index: int, palette: QPalette | None = None) -> QColor:
    """The ``index``-th series colour for the current scheme."""
    colours = _ON_DARK if is_dark(palette) else OKABE_ITO
    return QColor(colours[index % len(colours)])


def level_colour(level: str, palette: QPalette | None = None) -> QColor | None:
    """A figure's colour: None (the text colour) when fine, orange / vermillion otherwise,
    grey when unmeasured."""
    if level == "warn":
        return QColor("#E69F00")
    if level == "bad":
        return QColor("#D55E00") if not is_dark(palette) else QColor("#FF7A3D")
    if level == "none":
        return QColor("#999999")
    return None


def plot_colours(palette: QPalette | None = None) -> tuple[QColor, QColor]:
    """(background, foreground) for the plots, from the window's palette."""
    app = QGuiApplication.instance()
    if palette is None:
        palette = app.palette() if isinstance(app, QGuiApplication) else QPalette()
    return (palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text))

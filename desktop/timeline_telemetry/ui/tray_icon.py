"""The tray icon with a value: the health colour plus a live mini-bar (and the number where
there is room), painted with QPainter for each panel size and the screen's pixel ratio.

Legible on light and dark panels: the bar's trough and outline take the panel's contrast
colour, the number is drawn with a halo. The tooltip keeps the full summary (tray.py).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)

__all__ = ["ICON_SIZES", "STATE_COLOURS", "paint_value_icon", "value_icon", "value_pixmap"]

#: The panel sizes painted (logical pixels); Qt picks the nearest for the panel.
ICON_SIZES = (16, 22, 24, 32, 48)
#: The health colours of the SVG icons (ui/icons/*.svg).
STATE_COLOURS = {"healthy": "#2e9d4f", "warning": "#d99a00", "unhealthy": "#d0352b",
                 "unknown": "#8a8f98", "paused": "#8a8f98"}


def _contrast(theme: str) -> tuple[QColor, QColor]:
    """(outline/text colour, trough colour) for a ``light`` or ``dark`` panel."""
    if theme == "dark":
        return QColor("#f4f6f8"), QColor(255, 255, 255, 60)
    return QColor("#1d2024"), QColor(0, 0, 0, 45)


def paint_value_icon(p: QPainter, size: float, state: str, value: float, theme: str) -> None:
    """Paint a ``size`` x ``size`` icon: a health-coloured dot, a vertical bar filled to
    ``value`` (0-100) and, from 24 px, the rounded number over it."""
    colour = QColor(STATE_COLOURS.get(state, STATE_COLOURS["unknown"]))
    ink, trough = _contrast(theme)
    frac = max(0.0, min(1.0, value / 100.0))
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    line = max(1.0, size / 16)
    # The bar: the full height, a third of the width on the right; a crisp outline.
    bar = QRectF(size * 0.58, line / 2, size * 0.42 - line / 2, size - line)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(trough)
    p.drawRect(bar)
    fill = QRectF(bar.left(), bar.bottom() - bar.height() * frac, bar.width(),
                  bar.height() * frac)
    p.setBrush(colour)
    p.drawRect(fill)
    p.setPen(QPen(ink, line))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(bar)
    # The health dot (left), outlined for either panel.
    r = size * 0.26
    centre = QPointF(size * 0.27, size - r - line)
    p.setBrush(colour)
    p.drawEllipse(centre, r, r)
    if size >= 24:
        text = f"{value:.0f}" if value < 99.5 else "99"
        font = QFont()
        font.setBold(True)
        font.setPixelSize(round(size * 0.42))
        room = size * 0.56 - line  # left of the bar
        wide = QFontMetricsF(font).horizontalAdvance(text)
        if wide > room:
            font.setPixelSize(max(6, int(font.pixelSize() * room / wide)))
        path = QPainterPath()
        path.addText(QPointF(0, font.pixelSize() * 0.95), font, text)
        halo = QColor(255, 255, 255, 230) if theme == "light" else QColor(0, 0, 0, 230)
        p.strokePath(path, QPen(halo, max(2.0, size / 12)))
        p.fillPath(path, ink)


def value_pixmap(size: int, state: str, value: float, theme: str, dpr: float = 1.0
                 ) -> QPixmap:
    """One size of the icon, drawn at ``dpr`` device pixels per logical pixel."""
    image = QImage(round(size * dpr), round(size * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(dpr)
    p = QPainter(image)
    try:
        paint_value_icon(p, float(size), state, value, theme)
    finally:
        p.end()
    return QPixmap.fromImage(image)


def value_icon(state: str, value: float, theme: str) -> QIcon:
    """The QIcon at every :data:`ICON_SIZES`, at 1x and at the screen's pixel ratio."""
    app = QGuiApplication.instance()
    dprs = {1.0}
    if isinstance(app, QGuiApplication):
        dprs.add(max(1.0, app.devicePixelRatio()))
    icon = QIcon()
    for dpr in sorted(dprs):
        for size in ICON_SIZES:
            icon.addPixmap(value_pixmap(size, state, value, theme, dpr))
    return icon

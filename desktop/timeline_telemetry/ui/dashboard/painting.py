"""Drawing helpers for the dashboard's two hand-painted charts (the trace waterfall and the
health timeline): a colour legend and a tick scale."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

from .plotspec import nice_step

__all__ = ["draw_swatches", "draw_ticks"]


def draw_swatches(p: QPainter, x: float, y: float,
                  entries: Sequence[tuple[QColor, str]]) -> float:
    """Draw ``[■ text]`` entries in a row from (x, y) (the top of an 18 px line), the text
    in the painter's current pen; returns the x after the last one."""
    fm = p.fontMetrics()
    for colour, text in entries:
        p.fillRect(QRectF(x, y + 4, 10, 10), colour)
        width = fm.horizontalAdvance(text)
        p.drawText(QRectF(x + 14, y, width + 2, 18), Qt.AlignmentFlag.AlignVCenter, text)
        x += 14 + width + 16
    return x


def draw_ticks(p: QPainter, area: tuple[float, float, float, float], total: float,
               label: Callable[[float], str], *, step: float | None = None,
               from_right: bool = False, min_px: float = 90.0) -> None:
    """A scale over ``area`` (x, y, width, height of the bars) for values 0..``total``: a
    faint line down the bars every ``step`` (default: a round step at least ``min_px``
    apart) with ``label(value)`` above it. ``from_right`` counts values from the right edge
    (time ago, "now" at the right)."""
    x0, y0, width, height = area
    if total <= 0 or width <= 0:
        return
    if step is None:
        step = nice_step(total * min_px / width)
    text_pen = p.pen()
    fm = p.fontMetrics()
    value = 0.0
    while value <= total * (1 + 1e-9):
        frac = value / total
        x = x0 + width * (1 - frac if from_right else frac)
        grid = QColor(text_pen.color())
        grid.setAlpha(40)  # the text's colour, faint: visible on light and dark
        p.setPen(grid)
        p.drawLine(round(x), round(y0), round(x), round(y0 + height))
        text = label(value)
        w = fm.horizontalAdvance(text) + 4
        left = min(max(x - w / 2, x0 - 2), x0 + width - w + 2)
        p.setPen(text_pen)
        p.drawText(QRectF(left, y0 - 18, w, 16), Qt.AlignmentFlag.AlignCenter, text)
        value += step

"""Keyboard and screen readers: every control on every dashboard page takes Tab focus and
has a name a screen reader can say; the pages have mnemonics; the Overview's figures and
the plots describe themselves in words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from timeline_telemetry.ui.app import TrayApp

_CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QAbstractItemView)


def _spoken_name(w: QWidget, labels: list[QLabel]) -> str:
    if w.accessibleName():
        return w.accessibleName()
    if isinstance(w, QAbstractButton) and w.text():
        return w.text()
    return next((lab.text() for lab in labels if lab.buddy() is w), "")


def test_every_control_is_reachable_and_named(qtbot: QtBot, app: TrayApp) -> None:
    app.show_dashboard("")
    d = app.dashboard
    assert d is not None
    labels = d.findChildren(QLabel)
    missing = []
    for w in d.findChildren(QWidget):
        if not isinstance(w, _CONTROLS) or w.parent() is None:
            continue
        if type(w).__name__ in ("QTabBar", "QScrollBar") or w.objectName().startswith("qt_"):
            continue
        if isinstance(w.parent(), QComboBox | QAbstractSpinBox | QLineEdit) or isinstance(
                w, QHeaderView) or w.window() is not d:
            continue  # parts of another control (a header, a clear button, a popup)
        if not (w.focusPolicy() & Qt.FocusPolicy.TabFocus):
            missing.append(f"{type(w).__name__} without Tab focus")
        if not _spoken_name(w, labels):
            missing.append(f"{type(w).__name__} in {type(w.parent()).__name__} unnamed")
    assert missing == [], "\n".join(missing)
    # every page has a mnemonic (Alt+letter), all different
    keys = [d.tabs.tabText(i).split("&")[1][0].lower() for i in range(d.tabs.count())]
    assert len(set(keys)) == d.tabs.count()


def test_figures_and_plots_describe_themselves(qtbot: QtBot, app: TrayApp) -> None:
    app.show_dashboard("")
    d = app.dashboard
    assert d is not None
    cpu = d.overview_tab.cards["cpu"]
    qtbot.waitUntil(lambda: cpu.accessibleDescription().startswith("CPU: "), timeout=10000)
    d.open_item("metrics")
    tab = d.metrics_tab
    qtbot.waitUntil(lambda: "CPU total: " in tab._grid.accessibleDescription(),
                    timeout=10000)
    assert "Memory used: " in tab._grid.accessibleDescription()

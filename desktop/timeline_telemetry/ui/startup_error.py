"""Why the tray app did not start, said in a window.

Started from the applications menu or at login, the app has no terminal: a config problem
or a taken port printed to stderr is read by no one, and the user sees nothing happen. So
the same text also goes into a dialog, with a button to the folder that holds the config.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

__all__ = ["report_startup_failure", "startup_failure_box"]

TITLE = "Timeline Telemetry"
HEADLINE = "Timeline Telemetry could not start."


def startup_failure_box(
    reason: str, *, folder: Path | None
) -> tuple[QMessageBox, QPushButton | None]:
    """The dialog (not shown) and its "Open config folder" button (None without a folder)."""
    box = QMessageBox(QMessageBox.Icon.Critical, TITLE, HEADLINE)
    box.setInformativeText(reason.strip())
    open_button = None
    if folder is not None:
        open_button = box.addButton("Open config folder", QMessageBox.ButtonRole.ActionRole)
        open_button.setToolTip(str(folder))
    box.addButton(QMessageBox.StandardButton.Close)
    box.setDefaultButton(QMessageBox.StandardButton.Close)
    return box, open_button


def report_startup_failure(
    reason: str, *, folder: Path | None, environ: Mapping[str, str] = os.environ
) -> None:
    """Show :func:`startup_failure_box` and wait for it (nothing without a display)."""
    from .desktop import has_display, open_folder

    if not has_display(environ) or environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    box, open_button = startup_failure_box(reason, folder=folder)
    box.exec()
    if open_button is not None and box.clickedButton() is open_button and folder is not None:
        open_folder(folder)

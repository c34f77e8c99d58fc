"""The "Export diagnostics bundle…" dialogs: a preview of every file that will go in (and
how much was scrubbed) before anything is written, then a progress dialog while the zip
is written on the worker pool."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

__all__ = ["BundleProgress", "confirm_bundle", "format_preview"]


def format_preview(rows: list[tuple[str, int]]) -> str:
    """The preview as text: one line per file with its size, then the scrub counts."""
    files = [(n, b) for n, b in rows if not n.startswith("scrubbed: ")]
    scrubbed = [(n.removeprefix("scrubbed: "), b) for n, b in rows if n.startswith("scrubbed: ")]
    total = sum(b for _, b in files)
    lines = [f"{name}  ({_size(size)})" for name, size in files]
    lines.append(f"\n{len(files)} files, {_size(total)} before compression.")
    if scrubbed:
        lines.append("Scrubbed: " + ", ".join(f"{n} {k}" for k, n in scrubbed) + ".")
    return "\n".join(lines)


def confirm_bundle(rows: list[tuple[str, int]]) -> Path | None:
    """Show what would go in; on Save, ask for a folder. None if the user cancels."""
    box = QMessageBox()
    box.setWindowTitle("Export diagnostics bundle")
    box.setText("The bundle for support will contain these files. Secrets are scrubbed.")
    box.setDetailedText(format_preview(rows))
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel)
    if box.exec() != QMessageBox.StandardButton.Save:
        return None
    folder = QFileDialog.getExistingDirectory(None, "Save diagnostics bundle in", str(Path.home()))
    return Path(folder) if folder else None


class BundleProgress(QObject):
    """A progress dialog fed from the worker thread through a queued signal."""

    progressed = Signal(str, float)

    def __init__(self) -> None:
        super().__init__()
        self.dialog = QProgressDialog("Preparing…", "", 0, 100)
        self.dialog.setWindowTitle("Writing diagnostics bundle")
        self.dialog.setCancelButton(None)
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setMinimumDuration(0)
        self.progressed.connect(self._show)
        self.dialog.show()

    def report(self, step: str, fraction: float) -> None:
        """Called on the worker thread (Qt queues the signal to the UI thread)."""
        self.progressed.emit(step, fraction)

    def _show(self, step: str, fraction: float) -> None:
        self.dialog.setLabelText(step)
        self.dialog.setValue(int(max(0.0, min(1.0, fraction)) * 100))

    def finish(self) -> None:
        """Close the dialog."""
        self.dialog.close()


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"

"""The settings dialog: edit ``config.json`` with the CLI's validation, store secrets in the
keyring (never in the file), switch autostart at login.

Saving writes the text to a temporary file next to the config, runs the same
``validate_file`` as ``config validate``, and only then replaces the config atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.config import ConfigProblem, SecretError, set_secret, validate_file
from timeline_telemetry.config.lookup import CONFIG_FILE_NAME
from timeline_telemetry.paths import AppPaths

from .autostart import autostart_enabled, set_autostart
from .workers import JobRunner

__all__ = ["SettingsDialog", "save_config_text"]

_TEMPLATE = '{\n  "telemetry": {\n    "metrics": {"collection_interval": "1s"}\n  }\n}\n'


def save_config_text(text: str, path: Path) -> list[ConfigProblem]:
    """Validate ``text`` as a config; if valid write it to ``path`` atomically.

    Returns the problems (empty = saved). The file is left untouched when invalid.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    try:
        problems = validate_file(tmp)
        if problems:
            return problems
        os.replace(tmp, path)
        return []
    finally:
        tmp.unlink(missing_ok=True)


class SettingsDialog(QDialog):
    """Config editor, keyring secrets and the autostart switch.

    ``keyring_set`` and ``environ`` are for tests (an in-memory keyring, a tmp HOME).
    """

    def __init__(
        self,
        paths: AppPaths,
        runner: JobRunner,
        *,
        keyring_set: Callable[[str, str, str], None] | None = None,
        environ: dict[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Timeline Telemetry settings")
        self.resize(720, 560)
        self._runner = runner
        self._keyring_set = keyring_set
        self._environ = environ if environ is not None else dict(os.environ)
        self.config_path = paths.config_dir / CONFIG_FILE_NAME
        lay = QVBoxLayout(self)

        lay.addWidget(QLabel(f"Configuration ({self.config_path}); takes effect on restart. "
                             'Write secrets as "keyring:NAME" and store them below.'))
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFont("DejaVu Sans Mono", 9))
        try:
            self.editor.setPlainText(self.config_path.read_text(encoding="utf-8"))
        except OSError:
            self.editor.setPlainText(_TEMPLATE)
        lay.addWidget(self.editor, 1)
        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color:#b00020;")
        lay.addWidget(self.problems)

        box = QGroupBox("Store a secret in the OS keyring")
        form = QFormLayout(box)
        self.secret_name = QLineEdit()
        self.secret_name.setPlaceholderText("e.g. smtp_password")
        self.secret_value = QLineEdit()
        self.secret_value.setEchoMode(QLineEdit.EchoMode.Password)
        row = QHBoxLayout()
        row.addWidget(self.secret_value)
        self.secret_btn = QPushButton("Store")
        row.addWidget(self.secret_btn)
        form.addRow("Name", self.secret_name)
        form.addRow("Value", row)
        self.secret_status = QLabel("")
        form.addRow(self.secret_status)
        self.secret_btn.clicked.connect(self.store_secret)
        lay.addWidget(box)

        self.autostart = QCheckBox("Start Timeline Telemetry at login")
        self.autostart.setChecked(autostart_enabled(self._environ))
        self.autostart.toggled.connect(self._on_autostart)
        lay.addWidget(self.autostart)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def save(self) -> bool:
        """Validate and save; on problems list them and keep the dialog open."""
        text = self.editor.toPlainText()
        try:
            json.loads(text)
        except ValueError as exc:
            self.problems.setText(f"Not valid JSON: {exc}")
            return False
        problems = save_config_text(text, self.config_path)
        if problems:
            self.problems.setText("\n".join(str(p) for p in problems))
            return False
        self.problems.setText("")
        self.accept()
        return True

    def store_secret(self) -> None:
        """Store the secret on the pool (the keyring may talk D-Bus); report the outcome."""
        name, value = self.secret_name.text().strip(), self.secret_value.text()
        self.secret_value.clear()
        setter = self._keyring_set

        def work() -> str:
            set_secret(name, value, keyring_set=setter)
            return name

        def done(_r: object) -> None:
            self.secret_status.setText(f'Stored. Use "keyring:{name}" in the config.')

        def failed(exc: BaseException) -> None:
            msg = str(exc) if isinstance(exc, (SecretError, ValueError)) else repr(exc)
            self.secret_status.setText(f"Not stored: {msg}")

        self._runner.submit(work, done, failed)

    def _on_autostart(self, on: bool) -> None:
        path = set_autostart(on, environ=self._environ)
        self.autostart.setToolTip(str(path))

"""The settings dialog: a form for the common settings, the whole ``config.json`` as JSON
for the rest, secrets to the keyring (never the file), and autostart at login.

Tabs: General and Network (form fields, see ``settings_pages``), Advanced (the JSON) and
Secrets, startup & tray (the tray icon's value, saved in ``ui.json`` and applied at once).
The form and the JSON stay in sync: entering Advanced merges the form's edits into the JSON;
leaving it reloads the form from the JSON (a syntax error keeps the user there). Only the
keys the user changed are written; every other key, known or not, stays as it was, and a
setting left at its default stays out of the file.

Saving writes the text to a temporary file next to the config, runs the same
``validate_file`` as ``config validate``, and only then replaces the config atomically.
Problems are listed by key, and the form field a problem is about is marked and focused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.config import (
    ConfigError,
    ConfigProblem,
    SecretError,
    parse_config,
    preset_as_file,
    set_secret,
    validate_file,
)
from timeline_telemetry.config.lookup import CONFIG_FILE_NAME, DEFAULT_PRESET
from timeline_telemetry.paths import AppPaths

from .autostart import autostart_enabled, set_autostart
from .prefs import UiPrefs, load_prefs, save_prefs
from .settings_form import Field
from .settings_model import JsonObject, dump_config, key_offset
from .settings_pages import SettingsForm
from .workers import JobRunner

__all__ = ["SettingsDialog", "save_config_text"]

_TRAY_VALUE_LABELS = (("off", "Health colour only"), ("cpu", "Health colour and CPU %"),
                      ("gpu", "Health colour and GPU %"), ("ram", "Health colour and RAM %"))

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
    """Settings form, JSON editor, keyring secrets and the autostart switch.

    ``keyring_set`` and ``environ`` are for tests (an in-memory keyring, a tmp HOME).
    ``tabs`` holds ``general_page``, ``network_page``, ``advanced_page`` (``editor``) and
    ``secrets_page``; ``form`` has the fields by JSON path; ``problems`` lists what is wrong.
    """

    def __init__(
        self,
        paths: AppPaths,
        runner: JobRunner,
        *,
        keyring_set: Callable[[str, str, str], None] | None = None,
        environ: dict[str, str] | None = None,
        on_tray_value: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Timeline Telemetry settings")
        self._paths = paths
        self._on_tray_value = on_tray_value
        self.resize(720, 600)
        self._runner = runner
        self._keyring_set = keyring_set
        self._environ = environ if environ is not None else dict(os.environ)
        self.config_path = paths.config_dir / CONFIG_FILE_NAME
        # True: the form shows the editor's JSON plus its own edits (they merge on save).
        # False: the editor has changes the form has not read (Advanced was last edited).
        self._form_synced = False
        self._switching = False
        lay = QVBoxLayout(self)

        try:
            text = self.config_path.read_text(encoding="utf-8")
            note = ""
        except OSError:
            # What the monitor runs on without a file, so a first save changes only what the
            # user changed (an empty file would fall back to the schema's defaults instead).
            text = preset_as_file(DEFAULT_PRESET, base_dir=paths.data_dir)
            note = (f" There is no file yet: shown is the {DEFAULT_PRESET} preset the "
                    "monitor runs on now; saving writes it with your changes.")
        header = QLabel(f"Configuration file: {self.config_path}. Changes take effect when "
                        f"the monitor restarts.{note}")
        header.setWordWrap(True)
        lay.addWidget(header)

        self.form = SettingsForm()
        self.general_page = self.form.general
        self.network_page = self.form.network
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFont("DejaVu Sans Mono", 9))
        self.editor.setPlainText(text)
        self.advanced_page = self._advanced_page()
        self.secrets_page = self._secrets_page()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.general_page, "General")
        self.tabs.addTab(self.network_page, "Network")
        self.tabs.addTab(self.advanced_page, "Advanced")
        self.tabs.addTab(self.secrets_page, "Secrets, startup && tray")
        lay.addWidget(self.tabs, 1)

        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color:#b00020;")
        lay.addWidget(self.problems)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

        if self._editor_to_form():
            self._form_synced = True
        else:
            self.tabs.setCurrentWidget(self.advanced_page)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    # -- pages ----------------------------------------------------------------------------
    def _advanced_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        hint = QLabel("The whole config file, for everything the other tabs do not show. "
                      'Write secrets as "keyring:NAME" and store them under Secrets.')
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addWidget(self.editor, 1)
        return page

    def _secrets_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        box = QGroupBox("Store a secret in the OS keyring")
        form = QFormLayout(box)
        hint = QLabel('Refer to it in the config as "keyring:NAME" (e.g. an SMTP password); '
                      "the value never goes into the file.")
        hint.setWordWrap(True)
        form.addRow(hint)
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

        tray_box = QGroupBox("Tray icon")
        tray_form = QFormLayout(tray_box)
        self.tray_value = QComboBox()
        for key, label in _TRAY_VALUE_LABELS:
            self.tray_value.addItem(label, key)
        current = load_prefs(self._paths.config_dir).tray_value
        self.tray_value.setCurrentIndex(max(0, self.tray_value.findData(current)))
        self.tray_value.setAccessibleName("Tray icon shows")
        self.tray_value.setAccessibleDescription(
            "A live bar and number beside the health colour in the tray icon; applies at once")
        self.tray_value.currentIndexChanged.connect(self._on_tray_value_changed)
        tray_form.addRow("Shows", self.tray_value)
        lay.addWidget(tray_box)
        lay.addStretch(1)
        return page

    def _on_tray_value_changed(self, _index: int) -> None:
        """Save the tray icon's value (ui.json) and apply it at once."""
        which = str(self.tray_value.currentData())
        save_prefs(self._paths.config_dir, UiPrefs(tray_value=which))
        if self._on_tray_value is not None:
            self._on_tray_value(which)

    # -- form <-> JSON ----------------------------------------------------------------------
    def _decode(self, text: str) -> JsonObject | None:
        """The editor's JSON as an object, or None after showing why not."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.problems.setText(f"Not valid JSON: {exc}")
            return None
        if not isinstance(data, dict):
            self.problems.setText('The config must be one JSON object, e.g. {"telemetry": {}}; '
                                  "fix it on the Advanced tab.")
            return None
        return data

    def _editor_to_form(self) -> bool:
        """Reload the form from the editor; False (form unchanged) if the JSON is unusable.

        The JSON is checked as on save, so fields with a problem are marked right away."""
        data = self._decode(self.editor.toPlainText())
        if data is None:
            return False
        self.form.load(data)
        try:
            parse_config(data, source=str(self.config_path), base_dir=self.config_path.parent)
        except ConfigError as exc:
            self._show_problems(exc.problems, data)
        else:
            self._show_problems([], data)
        return True

    def _form_to_editor(self) -> None:
        """Merge the form's edits into the editor (left verbatim when there are none)."""
        if not self.form.dirty():
            return
        data = self._decode(self.editor.toPlainText())
        if data is not None and self.form.merge_into(data):
            self.editor.setPlainText(dump_config(data))

    def _on_tab_changed(self, index: int) -> None:
        if self._switching:
            return
        page = self.tabs.widget(index)
        if page is self.advanced_page:
            if self._form_synced:
                self._form_to_editor()
            self._form_synced = False
        elif page in (self.general_page, self.network_page) and not self._form_synced:
            if self._editor_to_form():
                self._form_synced = True
            else:
                self._switching = True
                try:
                    self.tabs.setCurrentWidget(self.advanced_page)
                finally:
                    self._switching = False

    def _show_problems(self, problems: Sequence[ConfigProblem], data: JsonObject) -> list[Field]:
        self.problems.setText("\n".join(str(p) for p in problems))
        return self.form.show_problems(problems, data)

    # -- actions ----------------------------------------------------------------------------
    def save(self) -> bool:
        """Validate and save; on problems list them, mark and focus the first field they are
        about (or the key in the JSON on Advanced), and keep the dialog open."""
        text = self.editor.toPlainText()
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.problems.setText(f"Not valid JSON: {exc}")
            return False
        if not isinstance(data, dict):
            data = {}
        elif self._form_synced and self.form.dirty() and self.form.merge_into(data):
            text = dump_config(data)
        problems = save_config_text(text, self.config_path)
        if problems:
            self._point_at(problems, self._show_problems(problems, data))
            return False
        self.problems.setText("")
        self.accept()
        return True

    def _point_at(self, problems: Sequence[ConfigProblem], marked: Sequence[Field]) -> None:
        """Take the user to the first problem: its form field, or its key in the JSON."""
        if self.tabs.currentWidget() is not self.advanced_page and marked:
            self.tabs.setCurrentWidget(self.form.page_of(marked[0]))
            marked[0].widget.setFocus()
            return
        if self.tabs.currentWidget() is self.advanced_page:
            offset = key_offset(self.editor.toPlainText(), problems[0].path)
            if offset is not None:
                cursor = self.editor.textCursor()
                cursor.setPosition(offset)
                self.editor.setTextCursor(cursor)
            self.editor.setFocus()

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

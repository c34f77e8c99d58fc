"""Form fields for the settings dialog: one widget per common setting, bound to its JSON key.

A field remembers what it showed after loading (its baseline) and is *dirty* only when the
user changed it; only dirty fields are written back, so a setting left alone stays absent
from (or exactly as written in) the file. A value the widget cannot show (a port of 70000)
leaves the widget at the default and the file's value in place until the user edits it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from timeline_telemetry.config import parse_duration

from .settings_model import MISSING, JsonObject, Location

__all__ = [
    "BoolField",
    "ChoiceField",
    "DurationField",
    "Field",
    "FloatField",
    "IntField",
    "TextField",
]

_PROBLEM_STYLE = "color:#b00020;font-weight:bold;"


class Field:
    """One form row: ``label`` and ``widget``, bound to ``location`` in the config JSON.

    ``default`` is the JSON value the config takes when the key is absent. ``problem`` is the
    validation message shown on the row (empty = none); editing the field clears it.
    """

    def __init__(self, location: Location, label: str, widget: QWidget, default: object,
                 help_text: str = "") -> None:
        self.location = location
        self.label = QLabel(label)
        self.label.setBuddy(widget)
        self.widget = widget
        self.default = default
        self.help_text = help_text
        self.problem = ""
        self._baseline: object = None
        self._raw_ok = True
        self._touched = False
        self._loading = False
        self.widget.setToolTip(help_text)

    @property
    def name(self) -> str:
        """The setting's JSON path (see :class:`Location`)."""
        return self.location.name

    # -- what subclasses provide -------------------------------------------------------
    def _show(self, raw: object) -> bool:
        """Put a JSON value into the widget; False (widget unchanged) if it cannot show it."""
        raise NotImplementedError

    def value(self) -> object:
        """The widget's value, comparable (``"60s"`` and ``"1m"`` are equal durations)."""
        raise NotImplementedError

    def json_value(self) -> object:
        """The widget's value as it is written into the JSON."""
        raise NotImplementedError

    # -- shared behaviour --------------------------------------------------------------
    def load(self, data: JsonObject) -> None:
        """Show the value at this field's place in ``data`` (the default if absent)."""
        raw = self.location.read(data)
        self._loading = True
        try:
            shown = raw is not MISSING and self._show(raw)
            if not shown:
                self._show(self.default)
        finally:
            self._loading = False
        self._raw_ok = raw is MISSING or shown
        self._baseline = self.value()
        self._touched = False

    @property
    def dirty(self) -> bool:
        """The user changed it since :meth:`load` (or edited a value it could not show)."""
        return self.value() != self._baseline or (self._touched and not self._raw_ok)

    def set_problem(self, message: str) -> None:
        """Mark the row (red label, message as tooltip) or, with ``""``, unmark it."""
        self.problem = message
        self.label.setStyleSheet(_PROBLEM_STYLE if message else "")
        tip = message or self.help_text
        self.label.setToolTip(tip)
        self.widget.setToolTip(tip)

    def _edited(self, *_args: object) -> None:
        if self._loading:
            return
        self._touched = True
        self.set_problem(self._live_problem())

    def _live_problem(self) -> str:
        """A problem visible while typing (before saving); none by default."""
        return ""


class BoolField(Field):
    """A checkbox for a JSON ``true``/``false``."""

    def __init__(self, location: Location, label: str, text: str, default: bool,
                 help_text: str = "") -> None:
        self.box = QCheckBox(text)
        super().__init__(location, label, self.box, default, help_text)
        self.box.toggled.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, bool):
            return False
        self.box.setChecked(raw)
        return True

    def value(self) -> object:
        """Checked or not."""
        return self.box.isChecked()

    def json_value(self) -> object:
        """``true``/``false``."""
        return self.box.isChecked()


class ChoiceField(Field):
    """A combo of fixed strings (compared upper-case, as the config reads log levels)."""

    def __init__(self, location: Location, label: str, choices: Sequence[str], default: str,
                 help_text: str = "") -> None:
        self.combo = QComboBox()
        self.combo.addItems(list(choices))
        super().__init__(location, label, self.combo, default, help_text)
        self.combo.currentTextChanged.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, str) or self.combo.findText(raw.upper()) < 0:
            return False
        self.combo.setCurrentText(raw.upper())
        return True

    def value(self) -> object:
        """The chosen string."""
        return self.combo.currentText()

    def json_value(self) -> object:
        """The chosen string."""
        return self.combo.currentText()


class DurationField(Field):
    """An editable combo of duration strings (``5s``, ``1m``, ``1h30m``) with common picks.

    Whatever string the file has is shown as is, so an invalid one can be seen and fixed;
    the validator reports it on save, and a bad string typed here is flagged at once.
    """

    def __init__(self, location: Location, label: str, choices: Sequence[str], default: str,
                 help_text: str = "") -> None:
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setMinimumWidth(120)
        self.combo.addItems(list(choices))
        super().__init__(location, label, self.combo, default, help_text)
        self.combo.currentTextChanged.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, str):
            return False
        self.combo.setEditText(raw)
        return True

    def value(self) -> object:
        """Seconds if the text is a duration, else the text."""
        text = self.combo.currentText().strip()
        try:
            return parse_duration(text)
        except ValueError:
            return text

    def json_value(self) -> object:
        """The text as typed (the validator checks it)."""
        return self.combo.currentText().strip()

    def _live_problem(self) -> str:
        try:
            parse_duration(self.combo.currentText().strip())
        except ValueError as exc:
            return str(exc)
        return ""


class FloatField(Field):
    """A spin box for a number in ``[minimum, maximum]``; whole numbers are written as ints."""

    def __init__(self, location: Location, label: str, default: float, *, minimum: float,
                 maximum: float, decimals: int, suffix: str, help_text: str = "") -> None:
        self.spin = QDoubleSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setDecimals(decimals)
        self.spin.setSuffix(suffix)
        super().__init__(location, label, self.spin, default, help_text)
        self.spin.valueChanged.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            return False
        if not self.spin.minimum() <= raw <= self.spin.maximum():
            return False
        self.spin.setValue(float(raw))
        return True

    def value(self) -> object:
        """The number as shown (rounded to the box's decimals)."""
        return round(self.spin.value(), self.spin.decimals())

    def json_value(self) -> object:
        """An int when whole (``100``), else the float."""
        number = round(self.spin.value(), self.spin.decimals())
        return int(number) if number.is_integer() else number


class IntField(Field):
    """A spin box for an integer in ``[minimum, maximum]`` (``special`` names the minimum)."""

    def __init__(self, location: Location, label: str, default: int, *, minimum: int,
                 maximum: int, special: str = "", help_text: str = "") -> None:
        self.spin = QSpinBox()
        self.spin.setRange(minimum, maximum)
        if special:
            self.spin.setSpecialValueText(special)
        super().__init__(location, label, self.spin, default, help_text)
        self.spin.valueChanged.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, int) or isinstance(raw, bool):
            return False
        if not self.spin.minimum() <= raw <= self.spin.maximum():
            return False
        self.spin.setValue(raw)
        return True

    def value(self) -> object:
        """The integer."""
        return self.spin.value()

    def json_value(self) -> object:
        """The integer."""
        return self.spin.value()


class TextField(Field):
    """A one-line text (a host name); surrounding spaces are dropped."""

    def __init__(self, location: Location, label: str, default: str,
                 help_text: str = "") -> None:
        self.line = QLineEdit()
        self.line.setMinimumWidth(240)
        super().__init__(location, label, self.line, default, help_text)
        self.line.textChanged.connect(self._edited)

    def _show(self, raw: object) -> bool:
        if not isinstance(raw, str):
            return False
        self.line.setText(raw)
        return True

    def value(self) -> object:
        """The text without surrounding spaces."""
        return self.line.text().strip()

    def json_value(self) -> object:
        """The text without surrounding spaces."""
        return self.line.text().strip()


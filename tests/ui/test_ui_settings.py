"""The settings dialog: CLI validation before saving, secrets to the keyring, autostart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.ui.settings import SettingsDialog, save_config_text
from timeline_telemetry.ui.workers import JobRunner

GOOD = '{"telemetry": {"metrics": {"collection_interval": "2s"}}}'
BAD = '{"telemetry": {"metrics": {"collection_interval": "soon"}}}'


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    pool = QThreadPool()
    r = JobRunner(pool)
    yield r
    r.wait(5000)


@pytest.fixture
def dialog(qtbot: QtBot, paths: AppPaths, runner: JobRunner, tmp_path: Path
           ) -> tuple[SettingsDialog, dict[tuple[str, str], str]]:
    store: dict[tuple[str, str], str] = {}

    def keyring_set(service: str, name: str, value: str) -> None:
        store[(service, name)] = value

    d = SettingsDialog(paths, runner, keyring_set=keyring_set,
                       environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    qtbot.addWidget(d)
    return d, store


def test_save_config_text_validates_like_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    problems = save_config_text(BAD, path)
    assert [p.path for p in problems] == ["telemetry.metrics.collection_interval"]
    assert not path.exists()
    assert save_config_text(GOOD, path) == []
    assert path.read_text() == GOOD
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_dialog_refuses_invalid_and_saves_valid(dialog: tuple[SettingsDialog, dict]) -> None:
    d, _ = dialog
    d.editor.setPlainText("{not json")
    assert not d.save()
    assert d.problems.text().startswith("Not valid JSON")
    d.editor.setPlainText(BAD)
    assert not d.save()
    assert "telemetry.metrics.collection_interval" in d.problems.text()
    assert not d.config_path.exists()
    d.editor.setPlainText(GOOD)
    assert d.save()
    assert d.config_path.read_text() == GOOD


def test_secret_goes_to_keyring_not_file(qtbot: QtBot,
                                         dialog: tuple[SettingsDialog, dict]) -> None:
    d, store = dialog
    d.secret_name.setText("smtp_password")
    d.secret_value.setText("hunter2")
    d.secret_btn.click()
    qtbot.waitUntil(lambda: d.secret_status.text().startswith("Stored"), timeout=5000)
    assert store == {("timeline-telemetry", "smtp_password"): "hunter2"}
    assert d.secret_value.text() == ""
    assert not d.config_path.exists()
    d.secret_name.setText("bad name!")
    d.secret_value.setText("x")
    d.secret_btn.click()
    qtbot.waitUntil(lambda: d.secret_status.text().startswith("Not stored"), timeout=5000)


def test_autostart_switch_writes_desktop_file(tmp_path: Path,
                                              dialog: tuple[SettingsDialog, dict]) -> None:
    d, _ = dialog
    entry = tmp_path / "xdg" / "autostart" / "timeline-telemetry.desktop"
    assert not d.autostart.isChecked()
    d.autostart.setChecked(True)
    assert "Exec=" in entry.read_text()
    d.autostart.setChecked(False)
    assert not entry.exists()

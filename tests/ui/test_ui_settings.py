"""The settings dialog: the form, the JSON editor and their sync, CLI validation before saving,
secrets to the keyring, autostart."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from timeline_telemetry.config import load_config, load_preset
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.ui.settings import SettingsDialog, save_config_text
from timeline_telemetry.ui.settings_form import (
    BoolField,
    ChoiceField,
    DurationField,
    Field,
    IntField,
    TextField,
)
from timeline_telemetry.ui.settings_model import (
    BLOCKED,
    MISSING,
    KeyPath,
    PrometheusKey,
    is_loopback_host,
    key_offset,
)
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


# -- the form -------------------------------------------------------------------------------
# Keys the form does not show (service_name, aggregation, editor, a Console exporter) must
# come back exactly as written.
ORIGINAL: dict = {"telemetry": {
    "service_name": "edit-bay-3",
    "metrics": {"collection_interval": "5s", "exporters": [{"Console": {}}],
                "aggregation": {"histogram_buckets": [0.1, 1, 10]}},
    "editor": {"media_dirs": ["/media/footage"]},
}}
WITH_PROMETHEUS: dict = {"telemetry": {
    "metrics": {"exporters": [{"Console": {}}, {"Prometheus": {"port": 9100}}]},
    "ingest": {"otlp": {"host": "192.168.1.20"}},
}}
INTERVAL = "telemetry.metrics.collection_interval"
RETENTION = "telemetry.metrics.retention_period"
PROM = "telemetry.metrics.exporters[].Prometheus"
OTLP_PORT = "telemetry.ingest.otlp.port"

MakeDialog = Callable[..., SettingsDialog]


@pytest.fixture
def make_dialog(qtbot: QtBot, paths: AppPaths, runner: JobRunner,
                tmp_path: Path) -> MakeDialog:
    """A dialog over a config file written first (``None``: no file)."""

    def make(config: dict | None = None, *, text: str | None = None) -> SettingsDialog:
        path = paths.config_dir / "config.json"
        if config is not None:
            path.write_text(json.dumps(config, indent=4), encoding="utf-8")
        elif text is not None:
            path.write_text(text, encoding="utf-8")
        d = SettingsDialog(paths, runner, keyring_set=lambda *_: None,
                           environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
        qtbot.addWidget(d)
        return d

    return make


def on_disk(d: SettingsDialog) -> dict:
    return json.loads(d.config_path.read_text(encoding="utf-8"))


F = TypeVar("F", bound=Field)


def field_of(d: SettingsDialog, name: str, kind: type[F]) -> F:
    f = d.form.field(name)
    assert isinstance(f, kind)
    return f


def test_form_change_writes_only_that_key(make_dialog: MakeDialog) -> None:
    d = make_dialog(ORIGINAL)
    assert d.tabs.currentWidget() is d.general_page
    interval = field_of(d, INTERVAL, DurationField)
    assert interval.combo.currentText() == "5s"
    gpu = field_of(d, "telemetry.metrics.collectors.gpu", BoolField)
    assert gpu.box.isChecked()
    gpu.box.setChecked(False)
    assert d.save()
    expected = copy.deepcopy(ORIGINAL)
    expected["telemetry"]["metrics"]["collectors"] = {"gpu": False}
    assert on_disk(d) == expected


def test_untouched_and_default_settings_stay_out_of_the_file(
        qtbot: QtBot, make_dialog: MakeDialog, paths: AppPaths) -> None:
    text = json.dumps(ORIGINAL, indent=4)
    d = make_dialog(ORIGINAL)
    per_cpu = field_of(d, "telemetry.metrics.collectors.per_cpu", BoolField)
    per_cpu.box.setChecked(False)
    per_cpu.box.setChecked(True)  # back: not a change
    assert d.save()
    assert d.config_path.read_text(encoding="utf-8") == text  # byte for byte
    d.config_path.unlink()

    d = make_dialog()  # no file: the form shows the preset the monitor runs on
    interval = field_of(d, INTERVAL, DurationField)
    assert interval.combo.currentText() == "10s"
    level = field_of(d, "telemetry.logging.level", ChoiceField)
    assert level.combo.currentText() == "INFO"
    line = interval.combo.lineEdit()
    line.clear()
    qtbot.keyClicks(line, "2s")
    assert d.save()
    # The first file is the workstation preset (the default) with that one change, and means
    # the same to the monitor (its File exporter paths written out absolute).
    saved = load_config(d.config_path)
    preset = load_preset("workstation", base_dir=paths.data_dir)
    assert saved.metrics.collection_interval == 2.0
    assert replace(saved, metrics=replace(saved.metrics, collection_interval=10.0)) == preset


def test_port_out_of_range_in_json_is_refused_and_fixable_in_the_form(
        make_dialog: MakeDialog) -> None:
    d = make_dialog(WITH_PROMETHEUS)
    before = d.config_path.read_bytes()
    d.tabs.setCurrentWidget(d.advanced_page)
    data = json.loads(d.editor.toPlainText())
    data["telemetry"]["ingest"]["otlp"]["port"] = 70000
    d.editor.setPlainText(json.dumps(data, indent=2))
    assert not d.save()
    assert "telemetry.ingest.otlp.port: 70000 is not a port" in d.problems.text()
    assert d.config_path.read_bytes() == before
    assert d.tabs.currentWidget() is d.advanced_page
    # The cursor is on the receiver's "port", not the Prometheus one before it.
    text = d.editor.toPlainText()
    assert d.editor.textCursor().position() == text.index('"port"', text.index('"otlp"'))
    port = field_of(d, OTLP_PORT, IntField)
    assert "70000" in port.problem

    d.tabs.setCurrentWidget(d.network_page)  # the form can't show 70000: default, marked
    assert d.tabs.currentWidget() is d.network_page
    assert port.spin.value() == 4318
    assert "70000" in port.problem
    assert "70000" in d.problems.text()
    port.spin.setValue(4319)
    assert port.problem == ""
    port.spin.setValue(4318)  # the default, but the file's 70000 must still be replaced
    assert d.save()
    assert on_disk(d)["telemetry"]["ingest"] == {"otlp": {"host": "192.168.1.20", "port": 4318}}


def test_out_of_range_budget_is_refused(make_dialog: MakeDialog) -> None:
    d = make_dialog(ORIGINAL)
    before = d.config_path.read_bytes()
    d.tabs.setCurrentWidget(d.advanced_page)
    data = json.loads(d.editor.toPlainText())
    data["telemetry"]["budget"] = {"cpu_percent": 0, "rss_mb": 5}
    d.editor.setPlainText(json.dumps(data))
    assert not d.save()
    assert "telemetry.budget.cpu_percent: 0 is out of range" in d.problems.text()
    assert "telemetry.budget.rss_mb: 5 is out of range" in d.problems.text()
    assert d.config_path.read_bytes() == before
    assert d.result() == 0  # still open
    assert "out of range" in d.form.field("telemetry.budget.cpu_percent").problem


def test_problem_in_the_form_marks_and_focuses_its_field(qtbot: QtBot,
                                                         make_dialog: MakeDialog) -> None:
    d = make_dialog(ORIGINAL)
    before = d.config_path.read_bytes()
    d.show()
    qtbot.waitExposed(d)
    interval = field_of(d, INTERVAL, DurationField)
    retention = field_of(d, RETENTION, DurationField)
    interval.combo.setEditText("1h")
    retention.combo.setEditText("1m")
    d.tabs.setCurrentWidget(d.network_page)  # saving from another tab goes to the field
    assert not d.save()
    assert "telemetry.metrics.retention_period: 1m is shorter" in d.problems.text()
    assert d.config_path.read_bytes() == before
    assert d.tabs.currentWidget() is d.general_page
    assert "shorter than collection_interval" in retention.problem
    assert "color:#b00020" in retention.label.styleSheet()
    assert interval.problem == ""
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (
        retention.combo, retention.combo.lineEdit()), timeout=5000)
    # A bad duration is flagged while typing, and refused on save naming the key.
    interval.combo.setEditText("soon")
    assert "is not a duration" in interval.problem
    assert not d.save()
    assert f'{INTERVAL}: "soon" is not a duration' in d.problems.text()
    assert d.config_path.read_bytes() == before


def test_round_trip_form_advanced_form(make_dialog: MakeDialog) -> None:
    d = make_dialog(ORIGINAL)
    field_of(d, "telemetry.logging.level", ChoiceField).combo.setCurrentText("DEBUG")
    prom_on = field_of(d, PROM, BoolField)
    assert not prom_on.box.isChecked()
    prom_on.box.setChecked(True)
    field_of(d, PROM + ".port", IntField).spin.setValue(9464)

    d.tabs.setCurrentWidget(d.advanced_page)
    data = json.loads(d.editor.toPlainText())
    assert data["telemetry"]["logging"] == {"level": "DEBUG"}
    assert data["telemetry"]["metrics"]["exporters"] == [
        {"Console": {}}, {"Prometheus": {"host": "127.0.0.1", "port": 9464}}]
    assert data["telemetry"]["editor"] == ORIGINAL["telemetry"]["editor"]
    assert data["telemetry"]["service_name"] == "edit-bay-3"

    data["telemetry"]["metrics"]["collection_interval"] = "30s"
    data["telemetry"]["metrics"]["collectors"] = {"gpu": False}
    data["telemetry"]["budget"] = {"rss_mb": 250}
    d.editor.setPlainText(json.dumps(data, indent=2))
    d.tabs.setCurrentWidget(d.general_page)
    assert d.tabs.currentWidget() is d.general_page
    assert field_of(d, INTERVAL, DurationField).combo.currentText() == "30s"
    assert not field_of(d, "telemetry.metrics.collectors.gpu", BoolField).box.isChecked()
    assert d.form.field("telemetry.budget.rss_mb").value() == 250
    assert d.form.field("telemetry.logging.level").value() == "DEBUG"
    assert d.form.field(PROM + ".port").value() == 9464
    assert d.form.dirty() == []
    assert d.save()
    assert on_disk(d) == data


def test_json_syntax_error_keeps_the_user_on_advanced(make_dialog: MakeDialog) -> None:
    d = make_dialog(ORIGINAL)
    d.tabs.setCurrentWidget(d.advanced_page)
    d.editor.setPlainText('{"telemetry": {')
    d.tabs.setCurrentWidget(d.general_page)
    assert d.tabs.currentWidget() is d.advanced_page
    assert d.problems.text().startswith("Not valid JSON")
    d.tabs.setCurrentWidget(d.secrets_page)  # secrets and autostart stay reachable
    assert d.tabs.currentWidget() is d.secrets_page
    d.tabs.setCurrentWidget(d.network_page)
    assert d.tabs.currentWidget() is d.advanced_page

    broken = make_dialog(text="[1, 2")  # a broken file opens on Advanced, as written
    assert broken.tabs.currentWidget() is broken.advanced_page
    assert broken.editor.toPlainText() == "[1, 2"
    assert broken.problems.text().startswith("Not valid JSON")


def test_non_loopback_host_shows_a_warning(make_dialog: MakeDialog) -> None:
    d = make_dialog(WITH_PROMETHEUS)
    assert not d.form.otlp_warning.isHidden()  # from the file: 192.168.1.20
    assert "reachable from other machines" in d.form.otlp_warning.text()
    warning = d.form.prometheus_warning
    assert warning.isHidden()
    host = field_of(d, PROM + ".host", TextField)
    assert host.line.text() == "127.0.0.1"
    host.line.setText("0.0.0.0")
    assert not warning.isHidden()
    assert "0.0.0.0" in warning.text()
    assert "reachable from other machines" in warning.text()
    for loopback in ("localhost", "::1", "127.0.0.2"):
        host.line.setText(loopback)
        assert warning.isHidden(), loopback
    host.line.setText("0.0.0.0")
    field_of(d, PROM, BoolField).box.setChecked(False)
    assert warning.isHidden()  # a disabled endpoint listens nowhere
    assert not host.line.isEnabled()


def test_prometheus_endpoint_edits_only_its_entry(make_dialog: MakeDialog) -> None:
    d = make_dialog(WITH_PROMETHEUS)
    port = field_of(d, PROM + ".port", IntField)
    assert port.spin.value() == 9100
    d.tabs.setCurrentWidget(d.advanced_page)  # an invalid port there marks the form field
    data = json.loads(d.editor.toPlainText())
    data["telemetry"]["metrics"]["exporters"][1]["Prometheus"]["port"] = 70000
    d.editor.setPlainText(json.dumps(data))
    assert not d.save()
    assert "telemetry.metrics.exporters[1].Prometheus.port" in d.problems.text()
    assert "70000" in port.problem
    d.editor.setPlainText(json.dumps(WITH_PROMETHEUS))
    d.tabs.setCurrentWidget(d.network_page)
    assert port.problem == ""
    field_of(d, PROM, BoolField).box.setChecked(False)
    assert d.save()
    expected = copy.deepcopy(WITH_PROMETHEUS)
    expected["telemetry"]["metrics"]["exporters"] = [{"Console": {}}]
    assert on_disk(d) == expected


def test_key_paths_and_hosts() -> None:
    data: dict = {"telemetry": {"metrics": 3, "budget": {}}}
    assert KeyPath(("telemetry", "budget", "rss_mb")).read(data) is MISSING
    assert KeyPath(("telemetry", "metrics", "gpu")).read(data) is BLOCKED
    assert not KeyPath(("telemetry", "metrics", "gpu")).write(data, False)
    assert KeyPath(("telemetry", "logging", "level")).write(data, "DEBUG")
    assert data == {"telemetry": {"metrics": 3, "budget": {}, "logging": {"level": "DEBUG"}}}
    prom: dict = {"telemetry": {"metrics": {"exporters": [{"Prometheus": None}]}}}
    assert PrometheusKey(None).read(prom) is True
    assert PrometheusKey("port").read(prom) is MISSING
    assert PrometheusKey("port").write(prom, 9200)
    assert prom["telemetry"]["metrics"]["exporters"] == [{"Prometheus": {"port": 9200}}]
    assert PrometheusKey(None).read({"telemetry": {}}) is MISSING
    assert [h for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost",
                        "0.0.0.0", "::", "192.168.1.2", "edit-bay.local", "")
            if is_loopback_host(h)] == ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost",
                                        "LocalHost"]
    text = '{"telemetry": {"metrics": {"port": 1}, "ingest": {"otlp": {"port": 2}}}}'
    assert key_offset(text, "telemetry.ingest.otlp.port") == text.rindex('"port"')
    assert key_offset(text, "telemetry.metrics.exporters[0].Prometheus.port") is None

"""The General and Network pages of the settings dialog, and how they sync with the JSON.

:class:`SettingsForm` owns the fields (see ``settings_form``); the dialog loads it from the
decoded config, merges the user's edits back (:meth:`SettingsForm.merge_into`) and hands it
the validation problems to mark. Defaults come from the schema's dataclasses, so a field
shows what the monitor would use when the key is absent.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from timeline_telemetry.config import ConfigProblem, PrometheusExporterConfig, format_duration
from timeline_telemetry.config.schema import LOG_LEVELS, TelemetryConfig

from .settings_form import (
    BoolField,
    ChoiceField,
    DurationField,
    Field,
    FloatField,
    IntField,
    TextField,
)
from .settings_model import JsonObject, KeyPath, PrometheusKey, is_loopback_host

__all__ = ["SettingsForm"]

_WARNING_STYLE = "color:#8a5300;"
_MAX_PORT = 65535


def _key(dotted: str) -> KeyPath:
    return KeyPath(("telemetry", *dotted.split(".")))


class SettingsForm:
    """The form pages (``general``, ``network``) and their fields, by JSON path.

    Not a widget itself: the dialog puts the pages into its tabs. ``prometheus_warning`` and
    ``otlp_warning`` are shown while an enabled listener's host is not loopback.
    """

    def __init__(self) -> None:
        d = TelemetryConfig()
        prom = PrometheusExporterConfig()
        self.fields: dict[str, Field] = {}
        self.general = self._page([
            ("Collection", [
                DurationField(_key("metrics.collection_interval"), "Collect every",
                              ("1s", "2s", "5s", "10s", "15s", "30s", "1m"),
                              format_duration(d.metrics.collection_interval),
                              "How often metrics are sampled (e.g. 1s, 5s, 500ms)."),
                BoolField(_key("metrics.collectors.per_cpu"), "Per-CPU plots",
                          "One usage series per CPU core", d.metrics.collectors.per_cpu),
                BoolField(_key("metrics.collectors.gpu"), "GPU",
                          "Collect GPU metrics when a GPU is present", d.metrics.collectors.gpu),
            ]),
            ("History", [
                BoolField(_key("metrics.history.enabled"), "History",
                          "Keep a local history of the metrics", d.metrics.history.enabled),
                DurationField(_key("metrics.retention_period"), "Keep for",
                              ("1h", "6h", "24h", "7d", "30d"),
                              format_duration(d.metrics.retention_period),
                              "How long metrics are kept (e.g. 24h, 7d)."),
            ]),
            ("Health and alerts", [
                DurationField(_key("health.check_interval"), "Check health every",
                              ("10s", "30s", "1m", "5m"),
                              format_duration(d.health.check_interval),
                              "How often the health checks run."),
                BoolField(_key("alerts.enabled"), "Alerts", "Evaluate the alert rules",
                          d.alerts.enabled),
                BoolField(_key("alerts.desktop_notifications"), "Notifications",
                          "Show desktop notifications for alerts",
                          d.alerts.desktop_notifications),
            ]),
            ("The monitor itself", [
                ChoiceField(_key("logging.level"), "Log level", LOG_LEVELS, d.logging.level),
                FloatField(_key("budget.cpu_percent"), "CPU budget", d.budget.cpu_percent,
                           minimum=0.01, maximum=400, decimals=2, suffix=" % of a core",
                           help_text="Above this the monitor samples less often."),
                FloatField(_key("budget.rss_mb"), "Memory budget", d.budget.rss_mb,
                           minimum=10, maximum=1_000_000, decimals=0, suffix=" MB",
                           help_text="Resident memory the monitor may use."),
            ]),
        ])
        self._prom_on = BoolField(PrometheusKey(None), "Prometheus",
                                  "Serve metrics for Prometheus to scrape", False)
        self._prom_host = TextField(PrometheusKey("host"), "Host", prom.host,
                                    "127.0.0.1 = this machine only")
        self._prom_port = IntField(PrometheusKey("port"), "Port", prom.port, minimum=0,
                                   maximum=_MAX_PORT, special="any free port")
        otlp = d.ingest.otlp
        self._otlp_on = BoolField(_key("ingest.otlp.enabled"), "OTLP receiver",
                                  "Receive traces, metrics and logs from the editor",
                                  otlp.enabled)
        self._otlp_host = TextField(_key("ingest.otlp.host"), "Host", otlp.host,
                                    "127.0.0.1 = this machine only")
        self._otlp_port = IntField(_key("ingest.otlp.port"), "Port", otlp.port, minimum=0,
                                   maximum=_MAX_PORT, special="any free port")
        self.prometheus_warning = QLabel("")
        self.otlp_warning = QLabel("")
        self.network = self._page([
            ("Prometheus endpoint (metrics scrape)",
             [self._prom_on, self._prom_host, self._prom_port, self.prometheus_warning]),
            ("OTLP receiver (the editor sends here)",
             [self._otlp_on, self._otlp_host, self._otlp_port, self.otlp_warning]),
        ])
        # Connected on the widgets, not stored on the fields: a Python reference cycle holding
        # widgets could be collected on a pool thread, and Qt objects must die on theirs.
        for on, host in ((self._prom_on, self._prom_host), (self._otlp_on, self._otlp_host)):
            on.box.toggled.connect(self._update_network)
            host.line.textChanged.connect(self._update_network)
        self._update_network()

    # -- building ---------------------------------------------------------------------
    def _page(self, groups: Sequence[tuple[str, Sequence[Field | QLabel]]]) -> QWidget:
        inner = QWidget()
        lay = QVBoxLayout(inner)
        for title, rows in groups:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
            for row in rows:
                if isinstance(row, Field):
                    self.fields[row.name] = row
                    form.addRow(row.label, row.widget)
                else:
                    row.setWordWrap(True)
                    row.setStyleSheet(_WARNING_STYLE)
                    row.hide()
                    form.addRow(row)
            lay.addWidget(box)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        return scroll

    # -- the JSON side ----------------------------------------------------------------
    def field(self, name: str) -> Field:
        """The field for a JSON path, e.g. ``telemetry.budget.rss_mb`` (KeyError if none)."""
        return self.fields[name]

    def page_of(self, field: Field) -> QWidget:
        """The page (``general`` or ``network``) that holds ``field``."""
        return self.general if self.general.isAncestorOf(field.widget) else self.network

    def load(self, data: JsonObject) -> None:
        """Show the values in ``data``; every field becomes clean and unmarked."""
        for f in self.fields.values():
            f.load(data)
            f.set_problem("")
        self._update_network()

    def dirty(self) -> list[Field]:
        """The fields the user changed since :meth:`load`."""
        return [f for f in self.fields.values() if f.dirty]

    def merge_into(self, data: JsonObject) -> bool:
        """Write the changed fields into ``data`` in place; True if anything was written.

        A newly enabled Prometheus endpoint gets its host and port written too, so the file
        says where it listens. Fields whose place the JSON does not allow (a parent that is
        not an object) are skipped: the validator reports that parent.
        """
        changed = False
        created = (self._prom_on.dirty and self._prom_on.box.isChecked()
                   and self._prom_on.location.read(data) is not True)
        forced = (self._prom_host, self._prom_port) if created else ()
        for f in self.fields.values():
            if (f.dirty or f in forced) and f.location.write(data, f.json_value()):
                changed = True
        return changed

    def show_problems(self, problems: Sequence[ConfigProblem], data: JsonObject) -> list[Field]:
        """Mark the fields the problems are about (in ``data``, the JSON that was checked);
        unmark the rest. Returns the marked fields in form order."""
        marked: list[Field] = []
        for f in self.fields.values():
            messages = [p.message for p in problems if f.location.matches(p.path, data)]
            f.set_problem("\n".join(messages))
            if messages:
                marked.append(f)
        return marked

    # -- the network page's live state ---------------------------------------------------
    def _update_network(self, *_args: object) -> None:
        for on, host, port, warning, what in (
            (self._prom_on, self._prom_host, self._prom_port, self.prometheus_warning,
             "the metrics endpoint"),
            (self._otlp_on, self._otlp_host, self._otlp_port, self.otlp_warning,
             "the OTLP receiver"),
        ):
            enabled = on.box.isChecked()
            host.widget.setEnabled(enabled)
            port.widget.setEnabled(enabled)
            text = str(host.value())
            exposed = enabled and bool(text) and not is_loopback_host(text)
            warning.setText(f"⚠ {text} is not a loopback address: {what} is reachable "
                            "from other machines on the network." if exposed else "")
            warning.setVisible(exposed)

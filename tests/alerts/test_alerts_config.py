"""``telemetry.alerts``: parsing, errors, rendering round trip, and building a manager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alerts_helpers import PROM_DIR, Capture

from timeline_telemetry.alerts import SHIPPED_RULES, MemorySource, build_alert_manager
from timeline_telemetry.config.errors import ConfigError
from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import (
    PagerDutyActionConfig,
    TelemetryConfig,
    WebhookActionConfig,
)
from timeline_telemetry.metrics import Metrics

FULL = {
    "telemetry": {
        "alerts": {
            "rule_files": ["rules/mine.yml"],
            "evaluation_interval": "30s",
            "actions": [
                {"Email": {"host": "smtp.studio.test", "port": 465, "security": "tls",
                           "username": "monitor", "password": "keyring:smtp",
                           "recipients": ["admin@timeline-studio.com"],
                           "subject": "Performance Alert: Slow Video Processing"}},
                {"Webhook": {"url": "env:SLACK_HOOK",
                             "payload": {"text": "Video processing degraded",
                                         "channel": "#alerts"}}},
                {"PagerDuty": {"routing_key": "keyring:pagerduty"}},
                {"Alertmanager": {"url": "http://127.0.0.1:9093"}},
            ],
            "rules": [{"alert": "HighCPUUsage", "cooldown": "5m", "actions": ["desktop"],
                       "resolve_condition": "system_cpu_usage_percent > 70"}],
            "flap": {"max_changes": 3, "window": "15m"},
            "storm": {"per_rule": 3, "max_per_eval": 5},
            "render_silence": {"alerts": ["HighCPUUsage"]},
        }
    }
}


def test_defaults_use_the_shipped_rules() -> None:
    c = TelemetryConfig().alerts
    assert c.enabled and c.rule_files is None and c.evaluation_interval == 15.0
    assert SHIPPED_RULES.read_bytes() == (PROM_DIR / "alert_rules.yml").read_bytes()


def test_full_config_parses_resolves_paths_and_round_trips(tmp_path: Path) -> None:
    c = parse_config(FULL, source="t", base_dir=tmp_path)
    a = c.alerts
    assert a.rule_files == (tmp_path / "rules" / "mine.yml",)
    assert a.evaluation_interval == 30.0
    assert [x.name for x in a.actions] == ["email", "webhook", "pagerduty", "alertmanager"]
    assert isinstance(a.actions[1], WebhookActionConfig)
    assert a.actions[1].payload["channel"] == "#alerts"
    assert isinstance(a.actions[2], PagerDutyActionConfig)
    assert a.rules[0].cooldown == 300 and a.rules[0].actions == ("desktop",)
    shown = config_to_json(c, mask_secrets=False)
    again = parse_config(json.loads(json.dumps(shown)), source="t", base_dir=tmp_path)
    assert again == c
    masked = json.dumps(config_to_json(c))
    assert "keyring:pagerduty" in masked  # references are shown, never secrets


def test_resend_and_repeat_defaults_and_overrides(tmp_path: Path) -> None:
    d = parse_config(FULL, source="t", base_dir=tmp_path).alerts
    assert d.resend_delay == 60 and d.desktop_repeat_interval == 4 * 3600
    assert [getattr(x, "repeat_interval", None) for x in d.actions] == [4 * 3600, 0, 0, None]
    data = {"telemetry": {"alerts": {"resend_delay": "30s", "desktop_repeat_interval": "0s",
                                     "actions": [{"Webhook": {"url": "http://x",
                                                              "repeat_interval": "1h"}}]}}}
    c = parse_config(data, source="t", base_dir=tmp_path).alerts
    assert c.resend_delay == 30 and c.desktop_repeat_interval == 0
    assert isinstance(c.actions[0], WebhookActionConfig) and c.actions[0].repeat_interval == 3600


def test_literal_secrets_are_masked(tmp_path: Path) -> None:
    data = {"telemetry": {"alerts": {"actions": [
        {"PagerDuty": {"routing_key": "R0UT1NG"}}]}}}
    c = parse_config(data, source="t", base_dir=tmp_path)
    assert "R0UT1NG" not in json.dumps(config_to_json(c))


@pytest.mark.parametrize(
    ("alerts", "where"),
    [
        ({"evaluation_interval": "soon"}, "telemetry.alerts.evaluation_interval"),
        ({"actions": [{"Sms": {}}]}, "telemetry.alerts.actions[0]"),
        ({"actions": [{"Email": {"recipients": ["a@b"], "security": "ssl"}}]},
         "telemetry.alerts.actions[0].Email.security"),
        ({"actions": [{"Webhook": {"url": "ftp://x"}}]}, "telemetry.alerts.actions[0].Webhook.url"),
        ({"actions": [{"PagerDuty": {}}]}, "telemetry.alerts.actions[0].PagerDuty.routing_key"),
        ({"rules": [{"alert": "A", "resolve_condition": "topk(1, x)"}]},
         "telemetry.alerts.rules[0].resolve_condition"),
        ({"bogus": 1}, "telemetry.alerts.bogus"),
        ({"resend_delay": "0s"}, "telemetry.alerts.resend_delay"),
        ({"desktop_repeat_interval": "often"}, "telemetry.alerts.desktop_repeat_interval"),
        ({"actions": [{"Webhook": {"url": "http://x", "repeat_interval": 5}}]},
         "telemetry.alerts.actions[0].Webhook.repeat_interval"),
        ({"actions": [{"Alertmanager": {"repeat_interval": "1h"}}]},
         "telemetry.alerts.actions[0].Alertmanager.repeat_interval"),
        ({"rules": [{"alert": "A", "actions": ["desktop", "pager"]}]},
         "telemetry.alerts.rules[0].actions[1]"),
        ({"desktop_notifications": False, "rules": [{"alert": "A", "actions": ["desktop"]}]},
         "telemetry.alerts.rules[0].actions[0]"),
    ],
)
def test_errors_name_the_path(tmp_path: Path, alerts: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"telemetry": {"alerts": alerts}}, source="t", base_dir=tmp_path)
    assert where in str(err.value)


def test_built_manager_fires_to_a_webhook_with_the_secret_url(
    tmp_path: Path, capture_server: Capture
) -> None:
    data = {"telemetry": {"alerts": {
        "desktop_notifications": False, "evaluation_interval": "1h",
        "actions": [{"Webhook": {"url": "env:HOOK", "format": "generic"}}]}}}
    cfg = parse_config(data, source="t", base_dir=tmp_path).alerts
    src = MemorySource()
    for i in range(7):
        src.add("system_health_status", (), i * 15_000, 3.0)
    m = build_alert_manager(cfg, metrics=Metrics(), source=src, data_dir=tmp_path,
                            environ={"HOOK": capture_server.url + "/hook"})
    m.start()
    try:
        m.evaluate(0.0)
        m.evaluate(30.0)
        (body,) = capture_server.wait(1)
    finally:
        m.stop()
    assert body["alerts"][0]["labels"]["alertname"] == "ServiceUnhealthy"
    assert (tmp_path / "alerts.sqlite3").is_file()


def test_pagerduty_service_key_is_the_routing_key(caplog: pytest.LogCaptureFixture,
                                                   tmp_path: Path) -> None:
    """The design document writes ``service_key`` (Events API v1); it is the v2 routing key."""
    import logging

    with caplog.at_level(logging.INFO):
        cfg = parse_config({"telemetry": {"alerts": {"actions": [
            {"PagerDuty": {"service_key": "keyring:pagerduty"}}]}}},
            source="test", base_dir=tmp_path)
    (action,) = cfg.alerts.actions
    assert isinstance(action, PagerDutyActionConfig)
    assert action.routing_key == "keyring:pagerduty"
    assert any("service_key" in r.getMessage() and "routing_key" in r.getMessage()
               for r in caplog.records)
    with pytest.raises(ConfigError, match="not both"):
        parse_config({"telemetry": {"alerts": {"actions": [
            {"PagerDuty": {"service_key": "env:A", "routing_key": "env:B"}}]}}},
            source="test", base_dir=tmp_path)

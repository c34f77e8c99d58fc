"""``config show``'s JSON: every key, durations as strings, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timeline_telemetry.config import (
    MetricsConfig,
    OtlpExporterConfig,
    TelemetryConfig,
    TracingConfig,
    config_to_json,
    parse_config,
)
from timeline_telemetry.config.render import is_secret_key, mask_json, redact_url


def test_default_config_renders_every_key() -> None:
    data = config_to_json(TelemetryConfig())
    t = data["telemetry"]
    assert isinstance(t, dict)
    assert list(t) == ["enabled", "service_name", "service_version", "tracing", "metrics",
                       "health", "ingest", "http", "editor", "logging", "logs", "alerts",
                       "budget"]
    assert t["metrics"]["collection_interval"] == "10s"
    assert t["metrics"]["retention_period"] == "1h"
    assert t["metrics"]["history"] == {"enabled": True, "path": None}
    assert t["tracing"]["batch_export"] == {"max_batch_size": 512, "max_export_timeout": "30s",
                                            "export_interval": "5s"}
    json.dumps(data)  # plain JSON types only
    assert parse_config(data, source="defaults", base_dir=Path("/")) == TelemetryConfig()


def otlp_config(**headers: str) -> TelemetryConfig:
    return TelemetryConfig(tracing=TracingConfig(exporters=(
        OtlpExporterConfig("http://o:4318", headers, "gzip", 2.5),)))


def test_literal_header_values_are_masked_references_shown() -> None:
    c = otlp_config(Authorization="Bearer s3cr3t", **{"X-Api-Key": "keyring:otlp_key",
                                                       "X-Tenant": "acme", "X-Token": "env:TOK"})
    shown = config_to_json(c)
    (exp,) = shown["telemetry"]["tracing"]["exporters"]  # type: ignore[index]
    assert exp == {"Otlp": {"endpoint": "http://o:4318", "compression": "gzip",
                            "timeout": "2s500ms",
                            "headers": {"Authorization": "***", "X-Api-Key": "keyring:otlp_key",
                                        "X-Tenant": "***", "X-Token": "env:TOK"}}}
    assert "s3cr3t" not in json.dumps(shown)
    unmasked = config_to_json(c, mask_secrets=False)
    assert "Bearer s3cr3t" in json.dumps(unmasked)
    assert parse_config(unmasked, source=c.source, base_dir=Path("/")) == c


def test_secret_looking_keys_anywhere_are_masked() -> None:
    # later sections (SMTP, PagerDuty) put secrets under such keys; the masking is by key name
    data = {"smtp": {"password": "pw", "user": "me", "api_key": "k", "routing_key": "env:RK",
                     "nested": {"Secret": "s", "token_url": "https://x"}, "empty_token": ""}}
    assert mask_json(data) == {
        "smtp": {"password": "***", "user": "me", "api_key": "***", "routing_key": "env:RK",
                 "nested": {"Secret": "***", "token_url": "***"}, "empty_token": ""}}


def test_non_secret_config_is_unchanged_by_masking() -> None:
    c = TelemetryConfig(metrics=MetricsConfig(collection_interval=0.25))
    assert config_to_json(c) == config_to_json(c, mask_secrets=False)
    assert config_to_json(c)["telemetry"]["metrics"]["collection_interval"] == "250ms"  # type: ignore[index]


# --- URLs: config show masks what the bundle masks (one redact_url) ----------------------

WEBHOOK_QUERY = "WEBHOOKTOKENSECRET123"
OTLP_QUERY = "URLKEYSECRET42"
SLACK_TAIL = "T000AAAA/B000BBBB/SlackPathSecretXX"
DISCORD_TOKEN = "DiscordPathSecret-abc_123"
GENERIC_PATH = "GenericPathSecret987"
USERINFO_PW = "UserInfoPw555"
URL_SECRETS = (WEBHOOK_QUERY, OTLP_QUERY, SLACK_TAIL, "SlackPathSecretXX", DISCORD_TOKEN,
               GENERIC_PATH, USERINFO_PW)


def url_config(tmp_path: Path) -> TelemetryConfig:
    data = {"telemetry": {
        "tracing": {"exporters": [
            {"Otlp": {"endpoint": f"http://127.0.0.1:4999?api_key={OTLP_QUERY}&tenant=acme"}},
            {"Otlp": {"endpoint": f"https://otel:{USERINFO_PW}@collector.example:4318/v1"}},
        ]},
        "alerts": {"actions": [
            {"Webhook": {"url": f"https://hooks.example.com/x?token={WEBHOOK_QUERY}",
                         "name": "generic-query"}},
            {"Webhook": {"url": f"https://hooks.slack.com/services/{SLACK_TAIL}",
                         "name": "slack"}},
            {"Webhook": {"url": f"https://discord.com/api/webhooks/123456/{DISCORD_TOKEN}",
                         "name": "discord", "format": "generic"}},
            {"Webhook": {"url": f"http://alerts.internal:8080/hook/{GENERIC_PATH}",
                         "name": "generic-path", "format": "generic"}},
            {"Webhook": {"url": "env:TEAMS_WEBHOOK_URL", "name": "by-reference"}},
            {"Alertmanager": {"url": "http://am.internal:9093/prefix"}},
        ]},
    }}
    return parse_config(data, source="t", base_dir=tmp_path)


def test_config_show_masks_url_secrets_and_keeps_where_things_go(tmp_path: Path) -> None:
    c = url_config(tmp_path)
    text = json.dumps(config_to_json(c))
    for secret in URL_SECRETS:
        assert secret not in text
    t = config_to_json(c)["telemetry"]
    exporters = [e["Otlp"]["endpoint"] for e in t["tracing"]["exporters"]]  # type: ignore[index]
    assert exporters == ["http://127.0.0.1:4999?api_key=***&tenant=acme",
                         "https://***@collector.example:4318/v1"]
    urls = [next(iter(a.values()))["url"] for a in t["alerts"]["actions"]]  # type: ignore[index]
    assert urls == [
        "https://hooks.example.com/***",        # webhook action: only scheme, host, port
        "https://hooks.slack.com/***",
        "https://discord.com/***",
        "http://alerts.internal:8080/***",
        "env:TEAMS_WEBHOOK_URL",                # a reference is a name: shown
        "http://am.internal:9093/prefix",       # not a webhook: its path is no secret
    ]


def test_unmasked_render_keeps_urls_exact_for_the_round_trip(tmp_path: Path) -> None:
    c = url_config(tmp_path)
    raw = config_to_json(c, mask_secrets=False)
    text = json.dumps(raw)
    for secret in URL_SECRETS:
        assert secret in text
    assert parse_config(json.loads(text), source=c.source, base_dir=tmp_path) == c


@pytest.mark.parametrize(("url", "shown", "path_hidden"), [
    ("https://u:pw@h.example:8443/a?x=1&token=T0K&y=2#frag",
     "https://***@h.example:8443/a?x=1&token=***&y=2#frag", "https://***@h.example:8443/***"),
    ("http://127.0.0.1:4999?api_key=K3Y", "http://127.0.0.1:4999?api_key=***",
     "http://127.0.0.1:4999/***"),
    ("https://s.example/blob?sv=2022&sig=S1G&client_secret=C5", "https://s.example/blob?sv=2022"
     "&sig=***&client_secret=***", "https://s.example/***"),
    ("https://app.example/cb#access_token=FRAGTOK&state=ok",
     "https://app.example/cb#access_token=***&state=ok", "https://app.example/***"),
    ("https://hooks.slack.com/services/T1/B2/XyZ", "https://hooks.slack.com/services/***",
     "https://hooks.slack.com/***"),
    ("https://discordapp.com/api/webhooks/1/TOK", "https://discordapp.com/api/webhooks/***",
     "https://discordapp.com/***"),
    ("https://h.example", "https://h.example", "https://h.example"),
    ("https://h.example/", "https://h.example/", "https://h.example/"),
    ("keyring:slack_url", "keyring:slack_url", "keyring:slack_url"),
    ("not a url", "not a url", "***"),
])
def test_redact_url(url: str, shown: str, path_hidden: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(url, hide_path=True) == path_hidden
    assert redact_url(shown) == shown  # idempotent: masks are not masked again


@pytest.mark.parametrize("name", ["smtp_password", "X-Api-Key", "AWS_SECRET_ACCESS_KEY",
                                  "PGPASSWORD", "auth_token", "client-secret", "passphrase",
                                  "private_key", "Cookie", "routing_key"])
def test_secret_key_names_are_one_rule_set(name: str) -> None:
    assert is_secret_key(name)
    assert mask_json({"x": {name: "V4lue"}}) == {"x": {name: "***"}}


@pytest.mark.parametrize("name", ["service_name", "endpoint", "url", "host", "keywords",
                                  "compression", "name", "key"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_key(name)

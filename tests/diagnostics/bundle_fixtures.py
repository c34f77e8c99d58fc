"""Fixtures for the diagnostics bundle: a workstation's files with secrets planted everywhere."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from timeline_telemetry.config import TelemetryConfig, load_config
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.paths import AppPaths

KEYRING_SECRET = "kr-S3cr3t-v4lue-9f8e"
ENV_SECRET = "env-S3cr3t-v4lue-7a6b"
LITERAL_HEADER = "lit-H34der-v4lue-1c2d"
URL_PASSWORD = "UrlPa55word88"
QUERY_TOKEN = "QueryT0ken4455"
SLACK_PATH = "T0AAA1111/B0BBB2222/SlackS3cretXYZabc"
PD_KEY = "PdR0uting0123456789abcdefABCDEF"
BEARER = "Bearer-t0k-abc123xyz.987"
BASIC_B64 = base64.b64encode(b"alice:BasicPw0rd!").decode()
LOG_PASSWORD = "L0gPassw0rd_77"
SPAN_API_KEY = "SpanApiK3y-0099"
HIST_PASSWORD = "HistPa55-4242"
EDITOR_KEY = "Ed1torKey-5555"

ALL_SECRETS = (KEYRING_SECRET, ENV_SECRET, LITERAL_HEADER, URL_PASSWORD, QUERY_TOKEN,
               "SlackS3cretXYZabc", PD_KEY, BEARER, BASIC_B64, LOG_PASSWORD, SPAN_API_KEY,
               HIST_PASSWORD, EDITOR_KEY)


@dataclass
class Planted:
    config: TelemetryConfig
    paths: AppPaths
    environ: dict[str, str]
    keyring: dict[tuple[str, str], str]
    editor_glob: str
    now: float

    def keyring_get(self, service: str, name: str) -> str | None:
        return self.keyring.get((service, name))


def _span_line(now: float) -> str:
    t = int(now * 1e9)
    attrs = [
        {"key": "api_key", "value": {"stringValue": SPAN_API_KEY}},
        {"key": "http.url", "value": {"stringValue":
            f"https://bob:{URL_PASSWORD}@media.example/x?access_token={QUERY_TOKEN}"}},
        {"key": "note", "value": {"stringValue": f"used {ENV_SECRET} for the upload"}},
    ]
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "timeline-studio"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
            "name": "render_timeline", "kind": 1, "startTimeUnixNano": str(t - 10**9),
            "endTimeUnixNano": str(t), "attributes": attrs}]}]}]}
    return json.dumps(doc)


def _log_line(when: float, body: str) -> str:
    t = int(when * 1e9)
    doc = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [{
        "timeUnixNano": str(t), "severityNumber": 17, "severityText": "ERROR",
        "body": {"stringValue": body}}]}]}]}
    return json.dumps(doc)


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    root = tmp_path / "home"
    paths = AppPaths(root / "config", root / "data", root / "logs").ensure()
    now = time.time()
    cfg = {"telemetry": {
        "metrics": {"exporters": [], "history": {"enabled": True}},
        "tracing": {"exporters": [
            {"File": {"path": str(paths.data_dir / "traces.jsonl")}},
            {"Otlp": {"endpoint": f"https://otel:{URL_PASSWORD}@collector.example:4318",
                      "headers": {"Authorization": "keyring:otlp_token",
                                  "x-api-key": "env:UPLOAD_KEY",
                                  "x-tenant-secret": LITERAL_HEADER}}},
        ]},
        "health": {"checks": [
            {"Http": {"url": f"https://api.example/status?token={QUERY_TOKEN}"}},
            {"Memory": {}},
        ]},
    }}
    cfg_path = paths.config_dir / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    config = load_config(cfg_path)

    (paths.data_dir / "traces.jsonl").write_text(_span_line(now) + "\n")
    (paths.data_dir / "otlp-logs.jsonl").write_text(
        _log_line(now - 10 * 86400, "an old line outside the window") + "\n"
        + _log_line(now - 5, f"upload failed: Authorization: Basic {BASIC_B64}") + "\n"
        + _log_line(now - 4, f"posting to https://hooks.slack.com/services/{SLACK_PATH}") + "\n"
    )
    (paths.log_dir / "agent.log").write_text(
        f"2026-01-01 INFO otlp: sending with key {KEYRING_SECRET}\n"
        f"2026-01-01 DEBUG http: Authorization: Bearer {BEARER}\n"
        f"2026-01-01 WARNING pagerduty: routing_key={PD_KEY} rejected\n"
        f"2026-01-01 ERROR smtp: login failed password={LOG_PASSWORD}\n"
        f"2026-01-01 INFO alert to https://events.pagerduty.com/integration/{PD_KEY}/enqueue\n"
    )
    editor_dir = tmp_path / "editor-logs"
    editor_dir.mkdir()
    (editor_dir / "studio.log").write_text(f"render ok api_key={EDITOR_KEY}\nframe 12 done\n")

    with HistoryStore(paths.data_dir / "history.sqlite3", retention=86400) as store:
        for i in range(120):
            ts = now - 3600 + i * 30
            store.append(ts, [
                FlatSample("system_cpu_usage_percent", (), float(i % 100)),
                FlatSample("editor_remote_up",
                           (("url", f"https://carol:{HIST_PASSWORD}@nas.local/share"),), 1.0),
            ])
        store.flush()

    return Planted(
        config=config, paths=paths,
        environ={"UPLOAD_KEY": ENV_SECRET, "HOME": str(tmp_path)},
        keyring={("timeline-telemetry", "otlp_token"): KEYRING_SECRET},
        editor_glob=str(editor_dir / "*.log"), now=now,
    )


def fake_run(argv: object, timeout_s: float) -> str:
    return "ffmpeg version 6.0-fake\n V..... libx264  H.264\n"

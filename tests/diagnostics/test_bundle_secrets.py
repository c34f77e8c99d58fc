"""Leaks a user trial found, closed in a real bundle: another process's command line with
secrets in the space-separated and environment forms, and alert webhook URLs whose path or
query is the credential."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from bundle_fixtures import fake_run

from timeline_telemetry.config import load_config
from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.diagnostics.sysinfo import process_info
from timeline_telemetry.paths import AppPaths

ARG_SECRETS = ("CMDTOKSECRET", "CMDPWSECRET", "CMDAPIKEYSECRET", "CMDSECRETSECRET",
               "CMDAWSSECRET", "CMDPGSECRET", "CMDMYSQLSECRET")
CHILD_ARGS = ("--token", "CMDTOKSECRET", "--password", "CMDPWSECRET", "--api-key",
              "CMDAPIKEYSECRET", "--secret", "CMDSECRETSECRET",
              "AWS_SECRET_ACCESS_KEY=CMDAWSSECRET", "PGPASSWORD=CMDPGSECRET",
              "mysql", "-pCMDMYSQLSECRET", "--port", "5432")
WEBHOOK_QUERY = "WEBHOOKTOKENSECRET123"
OTLP_QUERY = "URLKEYSECRET42"
SLACK_TAIL = "SlackPathSecretXX"
DISCORD_TOKEN = "DiscordPathSecret-abc"
URL_SECRETS = (WEBHOOK_QUERY, OTLP_QUERY, SLACK_TAIL, DISCORD_TOKEN)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    """A real process whose argv carries secrets; it waits on stdin until the test ends."""
    code = "import sys; print('ready', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", code, *CHILD_ARGS], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # exec done
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def only_processes(*pids: int) -> types.ModuleType:
    """psutil itself, but ``process_iter`` sees only ``pids`` (the bundle keeps the top 25
    processes, and on a busy machine a small child may not be among them)."""
    view = types.ModuleType("psutil_view")
    view.__dict__.update(psutil.__dict__)

    def process_iter(attrs: list[str] | None = None) -> Iterator[psutil.Process]:
        return (p for p in psutil.process_iter(attrs) if p.pid in pids)

    view.process_iter = process_iter  # type: ignore[attr-defined]
    return view


def write_config(tmp_path: Path, paths: AppPaths) -> Path:
    cfg = {"telemetry": {
        "metrics": {"exporters": [], "history": {"enabled": False}},
        "tracing": {"exporters": [
            {"Otlp": {"endpoint": f"http://127.0.0.1:4999?api_key={OTLP_QUERY}&tenant=acme"}}]},
        "alerts": {"actions": [
            {"Webhook": {"url": f"https://hooks.example.com/x?token={WEBHOOK_QUERY}",
                         "name": "generic"}},
            {"Webhook": {"url": f"https://hooks.slack.com/services/T0/B0/{SLACK_TAIL}",
                         "name": "slack"}},
            {"Webhook": {"url": f"https://discord.com:443/api/webhooks/42/{DISCORD_TOKEN}",
                         "name": "discord", "format": "generic"}},
        ]},
    }}
    path = paths.config_dir / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def unpack(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_process_command_line_secrets_never_reach_the_bundle(
    child: subprocess.Popen[str], tmp_path: Path
) -> None:
    ps = only_processes(child.pid)
    # the command line really is there to leak before scrubbing
    raw = json.dumps(process_info(psutil_mod=ps, sample_s=0.0))
    assert all(s in raw for s in ARG_SECRETS)

    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l").ensure()
    config = load_config(write_config(tmp_path, paths))
    result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", environ={},
                          psutil_mod=ps, run=fake_run, process_sample_s=0.0,
                          run_health_checks=False)
    assert result.path is not None
    files = unpack(result.path)
    for name, data in files.items():
        for secret in ARG_SECRETS:
            assert secret.encode() not in data, f"{secret} leaked into {name}"
    whole = result.path.read_bytes()
    assert not any(s.encode() in whole for s in ARG_SECRETS)

    procs = json.loads(files["processes.json"])
    (row,) = [r for r in procs["top_by_memory"] if r["pid"] == child.pid]
    assert "--token *** --password *** --api-key *** --secret ***" in row["cmdline"]
    assert "AWS_SECRET_ACCESS_KEY=*** PGPASSWORD=*** mysql -p*** --port 5432" in row["cmdline"]
    assert result.scrubbed["secret_arg"] >= 5


def test_webhook_and_endpoint_url_secrets_never_reach_the_bundle(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l").ensure()
    config = load_config(write_config(tmp_path, paths))
    # what an action's error message would leave in the agent's log
    (paths.log_dir / "agent.log").write_text(
        f"ERROR alerts: https://discord.com:443/api/webhooks/42/{DISCORD_TOKEN}: HTTP 500\n"
        f"ERROR alerts: https://hooks.example.com/x?token={WEBHOOK_QUERY}: timed out\n")
    result = build_bundle(config=config, paths=paths, out=tmp_path / "b.zip", environ={},
                          psutil_mod=psutil, run=fake_run, process_sample_s=0.0,
                          run_health_checks=False)
    assert result.path is not None
    files = unpack(result.path)
    for name, data in files.items():
        for secret in URL_SECRETS:
            assert secret.encode() not in data, f"{secret} leaked into {name}"

    shown = json.loads(files["config.json"])["telemetry"]
    urls = [next(iter(a.values()))["url"] for a in shown["alerts"]["actions"]]
    assert urls == ["https://hooks.example.com/***", "https://hooks.slack.com/***",
                    "https://discord.com:443/***"]
    endpoint = shown["tracing"]["exporters"][0]["Otlp"]["endpoint"]
    assert endpoint == "http://127.0.0.1:4999?api_key=***&tenant=acme"
    assert b"discord.com:443" in files["agent-logs/agent.log"]
    assert result.scrubbed["webhook_url"] == 3

"""An ``env:`` reference in the Http check's ``url`` (the design document's spelling): accepted
when the config is read, resolved and checked as a URL at every check."""

from __future__ import annotations

from pathlib import Path

from health_helpers import LocalServer

from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.config.schema import HttpCheckConfig
from timeline_telemetry.health import HealthStatus, HttpHealthCheck


def test_env_url_is_accepted_by_the_config_reader(tmp_path: Path) -> None:
    cfg = parse_config({"telemetry": {"health": {"checks": [
        {"Http": {"url": "env:RENDER_API_URL"}}]}}}, source="test", base_dir=tmp_path)
    checks = [c for c in cfg.health.checks if isinstance(c, HttpCheckConfig)]
    assert [c.url for c in checks] == ["env:RENDER_API_URL"]


def test_env_url_is_resolved_at_each_check(http_server: LocalServer) -> None:
    env: dict[str, str] = {}
    check = HttpHealthCheck("env:RENDER_API_URL", environ=env, latency_warning=5.0)
    assert check.name == "http:env:RENDER_API_URL"
    missing = check.check()
    assert missing.status is HealthStatus.UNHEALTHY
    assert missing.message.startswith("url: ") and "RENDER_API_URL" in missing.message
    env["RENDER_API_URL"] = "hunter2-not-a-url"
    bad = check.check()
    assert bad.status is HealthStatus.UNHEALTHY
    assert "does not hold an http:// or https:// URL" in bad.message
    assert "hunter2" not in bad.message and "hunter2" not in str(bad.metadata)
    env["RENDER_API_URL"] = http_server.url
    ok = check.check()
    assert ok.status is HealthStatus.HEALTHY, ok.message
    assert http_server.requests == 1

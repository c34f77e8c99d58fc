"""The command line as a user meets it: real subprocesses, real HTTP, real files."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from agent_process import AgentProcess, run_cli
from support import get, wait_for

EPHEMERAL_INGEST = {"otlp": {"port": 0}}
SERVING = r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics"


def write_config(path: Path, **metrics: object) -> Path:
    body: dict[str, object] = {"collection_interval": "200ms", "exporters": []}
    body.update(metrics)
    path.write_text(json.dumps({"telemetry": {"metrics": body, "ingest": EPHEMERAL_INGEST}}))
    return path


def scrape(port: int, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return str(r.read().decode())


def test_run_headless_serves_writes_and_stops_cleanly(tmp_path: Path, app_home: Path) -> None:
    cfg = write_config(
        tmp_path / "c.json",
        exporters=[{"Prometheus": {"port": 0}}, {"File": {"path": "m.jsonl"}}],
    )
    agent = AgentProcess("--config", str(cfg), home=app_home)
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        agent.wait_for_line(r"writing metrics to .*m\.jsonl")
        # The CPU figures need one measuring window (a second collection).
        def with_cpu() -> str | None:
            text = scrape(port)
            return text if "system_cpu_usage_percent " in text else None

        body = wait_for(with_cpu, timeout=30, what="the CPU figure on /metrics")
        assert "# TYPE system_cpu_usage_percent gauge" in body
        assert "telemetry_agent_memory_rss_bytes " in body
    finally:
        code = agent.stop(signal.SIGTERM)
    assert code == 0, "\n".join(agent.lines)
    assert (tmp_path / "m.jsonl").stat().st_size > 0
    db = app_home / "data" / "history.sqlite3"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("select name from series")}
    assert "system_memory_usage_bytes" in names
    assert (app_home / "logs" / "agent.log").read_text().count("starting") >= 1


def test_sigint_also_exits_zero(tmp_path: Path, app_home: Path) -> None:
    cfg = write_config(tmp_path / "c.json", exporters=[{"Prometheus": {"port": 0}}])
    agent = AgentProcess("--config", str(cfg), home=app_home)
    try:
        agent.wait_for_line(SERVING)
    finally:
        code = agent.stop(signal.SIGINT)
    assert code == 0


def test_port_taken_is_one_clear_line_and_exit_2(tmp_path: Path, app_home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg = write_config(tmp_path / "c.json", exporters=[{"Prometheus": {"port": port}}])
        res = run_cli("run", "--headless", "--config", str(cfg), home=app_home)
    assert res.returncode == 2
    errors = [ln for ln in res.stderr.splitlines() if "timeline-telemetry:" in ln]
    assert len(errors) == 1, res.stderr
    assert str(port) in errors[0] and "port" in errors[0]


def test_bad_config_starts_nothing(tmp_path: Path, app_home: Path) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text(
        json.dumps(
            {
                "telemetry": {
                    "metrics": {
                        "collection_interval": "5 sec",
                        "exporters": [{"Prometheus": {"port": 70000}}],
                    }
                }
            }
        )
    )
    res = run_cli("run", "--headless", "--config", str(cfg), home=app_home)
    assert res.returncode == 2
    assert 'telemetry.metrics.collection_interval: "5 sec" is not a duration' in res.stderr
    assert "telemetry.metrics.exporters[0].Prometheus.port" in res.stderr
    assert not (app_home / "data" / "history.sqlite3").exists()


def test_config_validate_exit_codes(tmp_path: Path, app_home: Path) -> None:
    good = write_config(tmp_path / "good.json")
    ok = run_cli("config", "validate", str(good), home=app_home)
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"telemetry": {"tracing": {"sample_rate": 1.5}, "bogus": 1}}')
    res = run_cli("config", "validate", str(bad), home=app_home)
    assert res.returncode == 2
    assert "telemetry.tracing.sample_rate" in res.stderr
    assert "telemetry.bogus" in res.stderr


def test_config_show_preset_and_env_override(app_home: Path) -> None:
    res = run_cli("config", "show", "--preset", "production", home=app_home, PROMETHEUS_PORT="9464")
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    prom = shown["telemetry"]["metrics"]["exporters"][0]["Prometheus"]
    assert prom["port"] == 9464 and prom["host"] == "127.0.0.1"
    assert shown["telemetry"]["metrics"]["collection_interval"] == "15s"


def test_config_show_masks_literal_secrets(tmp_path: Path, app_home: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(
        json.dumps(
            {
                "telemetry": {
                    "tracing": {
                        "exporters": [
                            {
                                "Otlp": {
                                    "endpoint": "http://127.0.0.1:4318",
                                    "headers": {
                                        "Authorization": "Bearer s3cr3t-t0ken",
                                        "X-Api-Key": "keyring:otlp_key",
                                    },
                                }
                            }
                        ]
                    }
                }
            }
        )
    )
    res = run_cli("config", "show", "--config", str(cfg), home=app_home)
    assert res.returncode == 0, res.stderr
    assert "s3cr3t-t0ken" not in res.stdout
    assert "keyring:otlp_key" in res.stdout


def test_secret_set_without_keyring_says_how_to_fix(app_home: Path) -> None:
    res = run_cli("secret", "set", "smtp_password", "--stdin", home=app_home, stdin="hunter2\n")
    assert res.returncode == 2
    assert "keyring" in res.stderr.lower() and "env:" in res.stderr
    assert "hunter2" not in res.stderr + res.stdout


def test_secret_set_says_there_is_no_keyring_before_asking(app_home: Path) -> None:
    """Piped (no --stdin, no terminal): no prompt and no getpass echo warning either."""
    res = run_cli("secret", "set", "pagerduty_key", home=app_home, stdin="abc\n")
    assert res.returncode == 2
    assert "no OS keyring" in res.stderr
    assert "Secret for" not in res.stderr + res.stdout
    assert "GetPassWarning" not in res.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["run"],
        ["config"],
        ["config", "validate"],
        ["config", "show"],
        ["secret"],
        ["secret", "set"],
        ["history"],
        ["history", "list"],
        ["history", "show"],
    ],
)
def test_help_on_every_command(args: list[str], app_home: Path) -> None:
    res = run_cli(*args, "--help", home=app_home)
    assert res.returncode == 0, res.stderr
    assert "usage: timeline-telemetry" in res.stdout


def test_history_show_after_a_run(tmp_path: Path, app_home: Path) -> None:
    cfg = write_config(tmp_path / "c.json", exporters=[{"Prometheus": {"port": 0}}])
    agent = AgentProcess("--config", str(cfg), home=app_home)
    try:
        agent.wait_for_line(SERVING)
        agent.wait_for_line(r"running")
    finally:
        assert agent.stop() == 0
    res = run_cli(
        "history", "show", "system_memory_total_bytes", "--config", str(cfg), home=app_home
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("system_memory_total_bytes")
    listed = run_cli("history", "list", "system_disk", "--config", str(cfg), home=app_home)
    assert 'system_disk_usage_bytes{mountpoint="/"}' in listed.stdout
    # Times carry their offset: the same points read as the same instants in any zone.
    shown: dict[str, list[dt.datetime]] = {}
    for tz in ("America/New_York", "UTC"):
        for extra in ((), ("--csv",)):
            out = run_cli("history", "show", "system_memory_total_bytes", *extra,
                          "--config", str(cfg), home=app_home, TZ=tz)
            assert out.returncode == 0, out.stderr
            lines = out.stdout.splitlines()[1:]
            stamps = [(ln.split(",")[0] if extra else ln.split()[0]) for ln in lines]
            assert stamps
            offset = "+00:00" if tz == "UTC" else ("-05:00", "-04:00")
            assert all(s.endswith(offset) for s in stamps), stamps
            shown[tz + "".join(extra)] = [dt.datetime.fromisoformat(s) for s in stamps]
    assert shown["UTC"] == shown["America/New_York"] == shown["UTC--csv"]
    assert shown["America/New_York--csv"] == shown["UTC"]


def health_config(path: Path, checks: list[object]) -> Path:
    path.write_text(
        json.dumps({"telemetry": {"health": {"checks": checks}, "ingest": EPHEMERAL_INGEST}})
    )
    return path


def test_check_exit_codes(tmp_path: Path, app_home: Path) -> None:
    ok = health_config(tmp_path / "ok.json", [{"Memory": {"max_used_fraction": 0.999}}])
    res = run_cli("check", "--config", str(ok), "--json", home=app_home)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["status"] == "Healthy" and report["status_code"] == 1
    assert report["checks"]["memory"]["status"] == "Healthy"

    full = health_config(
        tmp_path / "full.json",
        [
            {
                "DiskSpace": {
                    "path": str(tmp_path),
                    "max_used_fraction": 0.01,
                    "warning_margin": 0.005,
                }
            }
        ],
    )
    res = run_cli("check", "--config", str(full), home=app_home)
    assert res.returncode == 2, res.stdout + res.stderr

    bad = health_config(tmp_path / "bad.json", [{"Nope": {}}])
    res = run_cli("check", "--config", str(bad), home=app_home)
    assert res.returncode == 3
    assert "telemetry.health.checks[0]" in res.stderr


def test_health_endpoint_on_the_running_agent(tmp_path: Path, app_home: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(
        json.dumps(
            {
                "telemetry": {
                    "metrics": {
                        "collection_interval": "200ms",
                        "exporters": [{"Prometheus": {"port": 0}}],
                    },
                    "health": {
                        "check_interval": "1s",
                        "checks": [{"Memory": {"max_used_fraction": 0.999}}],
                    },
                }
            }
        )
    )
    agent = AgentProcess("--config", str(cfg), home=app_home)
    try:
        port = int(agent.wait_for_line(SERVING).group(1))
        body = wait_for(lambda: _ready_health(port), timeout=30, what="/health/ready 200")
        checks = json.loads(body)["checks"]
        assert checks["memory"]["status"] == "Healthy", body
        metrics = wait_for(
            lambda: _with(scrape(port), "memory_health_status 1"),
            timeout=30,
            what="memory_health_status on /metrics",
        )
        assert "system_health_status" in metrics
    finally:
        assert agent.stop() == 0


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_without_any_config_it_runs_the_workstation_preset(app_home: Path) -> None:
    """The README's first command: no --config, --preset or config.json. It serves /metrics
    and /health on 127.0.0.1 (PROMETHEUS_PORT=0 only moves the port off 9464), receives
    OTLP on 127.0.0.1:4318, writes OTLP-JSON lines in the data dir, prints nothing."""
    if _port_taken(4318):
        pytest.skip("127.0.0.1:4318 (the preset's OTLP receiver port) is in use here")
    agent = AgentProcess(home=app_home, PROMETHEUS_PORT="0")
    try:
        agent.wait_for_line(r"config: preset workstation \(no config file at ")
        port = int(agent.wait_for_line(SERVING).group(1))
        agent.wait_for_line(r"OTLP/HTTP receiver on http://127\.0\.0\.1:4318 ")
        agent.wait_for_line(r"writing metrics to .*metrics\.jsonl")
        wait_for(lambda: _with(scrape(port), "system_memory_usage_bytes "),
                 timeout=30, what="system metrics on /metrics")
        status, _headers, health = get(f"http://127.0.0.1:{port}/health")
        assert status in (200, 503) and "checks" in json.loads(health)
    finally:
        code = agent.stop(signal.SIGTERM)
    assert code == 0, "\n".join(agent.lines)
    assert agent.stdout_lines == [], "no Console exporter: nothing on stdout"
    data = app_home / "data"
    assert (data / "metrics.jsonl").stat().st_size > 0
    assert (data / "history.sqlite3").exists() and (data / "alerts.sqlite3").exists()


def _ready_health(port: int) -> str | None:
    try:
        scrape(port, "/health/ready")
    except OSError:
        return None
    return scrape(port, "/health")


def _with(text: str, needle: str) -> str | None:
    return text if needle in text else None


def test_history_list_orders_histogram_buckets_by_bound() -> None:
    from timeline_telemetry.cli import _series_order

    les = ["+Inf", "0.001", "1.0", "10.0", "2.5"]
    items = [("h_bucket", (("check", "disk"), ("le", le))) for le in les]
    items.append(("a_total", ()))
    ordered = [dict(labels).get("le", "") for _, labels in sorted(items, key=_series_order)]
    assert ordered == ["", "0.001", "1.0", "2.5", "10.0", "+Inf"]

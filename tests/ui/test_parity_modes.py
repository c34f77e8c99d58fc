"""One scenario, both modes: the tray and ``run --headless`` run the same core.

Each mode runs as a real process inside a throwaway desktop (Xvfb, a private D-Bus, an SNI
watcher and a notification server that records ``Notify``), with a real webhook receiver
on 127.0.0.1 and a real OpenTelemetry SDK pushing a span. The scenario checks, in both
modes: metrics on /metrics and in the history; a failing health check is told (a desktop
notification in the tray, a log line headless); an alert rule that holds from the first
evaluation fires (desktop notification / log line), shows in ``/api/v1/alerts`` and calls
the webhook; the pushed span reaches the trace store; ``status`` and ``bundle`` from the
CLI show the live state, a failing upstream exporter named with its error; a second agent
for the same home is refused; the state file is gone after a clean stop.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from desktop_session import Desktop, desktop, missing_tools, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}"),
]

ENTRY = Path(sys.executable).with_name("timeline-telemetry")
RULES = """
groups:
  - name: parity
    rules:
      - alert: MemoryInUse
        expr: system_memory_usage_bytes > 0
        labels: {severity: warning}
        annotations: {summary: "memory in use"}
"""


def _cli(*args: str) -> list[str]:
    if ENTRY.exists():
        return [str(ENTRY), *args]
    return [sys.executable, "-m", "timeline_telemetry.cli", *args]


class Webhook:
    """A real HTTP server on 127.0.0.1 recording the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.bodies.append(json.loads(data))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Agent:
    """The app as a process, either mode, with its stderr read line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._q.put(line.rstrip("\n"))

    def log(self) -> str:
        while not self._q.empty():
            self.lines.append(self._q.get())
        return "\n".join(self.lines)

    def wait_line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()) if self.proc.poll() is None or
                        rx.search(self.log()) else _dead(self), timeout, repr(pattern))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise
        self._reader.join(5)
        self.log()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def _dead(agent: Agent) -> None:
    raise AssertionError(f"the app exited ({agent.proc.returncode}):\n{agent.log()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, hook: str) -> Path:
    (tmp / "rules.yml").write_text(RULES)
    cfg = {"telemetry": {
        "metrics": {"collection_interval": "1s", "exporters": [
            {"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "tracing": {"enabled": True, "exporters": [
            {"Otlp": {"endpoint": f"http://127.0.0.1:{_free_port()}"}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "1s", "checks": [
            {"DiskSpace": {"name": "scratch-disk", "path": str(tmp),
                           "max_used_fraction": 0.0001, "warning_margin": 0.00005}}]},
        "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "1s",
                   "desktop_notifications": True,
                   "actions": [{"Webhook": {"url": hook, "format": "generic"}}]},
    }}
    path = tmp / "cfg.json"
    path.write_text(json.dumps(cfg))
    return path


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(*args), env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def _push_span(endpoint: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    tp = TracerProvider(resource=Resource({"service.name": "timeline-studio"}),
                        shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    with tp.get_tracer("parity").start_as_current_span("export_timeline") as span:
        span.set_status(Status(StatusCode.ERROR, "encoder crashed"))
    tp.shutdown()


@contextmanager
def _session(tmp: Path) -> Iterator[tuple[Desktop, dict[str, str], Webhook]]:
    hook = Webhook()
    try:
        with desktop(tmp) as d:
            env = {k: v for k, v in d.env.items()
                   if not k.startswith(("TELEMETRY_", "PROMETHEUS_", "OTEL_"))}
            env["TIMELINE_TELEMETRY_HOME"] = str(tmp / "home")
            env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
            yield d, env, hook
    finally:
        hook.close()


@pytest.mark.parametrize("mode", ["headless", "tray"])
def test_the_same_scenario_in_both_modes(tmp_path: Path, mode: str) -> None:
    with _session(tmp_path) as (d, env, hook):
        cfg = _config(tmp_path, hook.url)
        agent = Agent((["run", "--headless"] if mode == "headless" else [])
                      + ["--config", str(cfg)], env)
        try:
            api = agent.wait_line(r"local API on (\S+)").group(1)
            metrics_url = agent.wait_line(r"serving Prometheus metrics on (\S+)").group(1)
            otlp = agent.wait_line(r"OTLP/HTTP receiver on (\S+)").group(1)
            state = json.loads((tmp_path / "home" / "data" / "agent.json").read_text())
            assert state["mode"] == mode and state["pid"] == agent.proc.pid
            assert state["listeners"]["prometheus"] == metrics_url

            # Metrics on /metrics; the alert holds from the first evaluation.
            wait_for(lambda: 'ALERTS{alertname="MemoryInUse",alertstate="firing"' in
                     _text(metrics_url), 20, "ALERTS firing on /metrics")
            assert "system_memory_usage_bytes" in _text(metrics_url)
            firing = _get(f"{api}/alerts")["data"]["alerts"]
            assert [(a["labels"]["alertname"], a["state"]) for a in firing] == [
                ("MemoryInUse", "firing")]
            rules = _get(f"{api}/rules")["data"]["groups"][0]["rules"]
            assert rules[0]["state"] == "firing" and rules[0]["health"] == "ok"

            # The webhook got the alert; the desktop (or the log) was told.
            body = wait_for(lambda: hook.bodies, 20, "the webhook call")[0]
            assert body["alerts"][0]["labels"]["alertname"] == "MemoryInUse"
            agent.wait_line(r"health: scratch-disk \w+ -> Unhealthy")
            agent.wait_line(r"ALERT MemoryInUse firing \[warning\]: memory in use")
            if mode == "tray":  # one calm notification may carry both (coalesced)
                told = lambda: "\n".join(f"{c[3]}\n{c[4]}"  # noqa: E731
                                         for c in d.notifications.calls)
                wait_for(lambda: "scratch-disk: Unhealthy" in told(), 20,
                         "the health notification")
                wait_for(lambda: "memory in use: firing" in told(), 20,
                         "the alert notification")

            # A span from the real SDK reaches the trace store; its upstream export fails.
            _push_span(otlp)
            wait_for(lambda: (_get(f"{api}/status")["data"]["trace_store"] or {})
                     .get("spans") == 1, 20, "the span in the trace store")
            agent.wait_line(r"exporter traces:otlp:\S+ is failing: ")

            # The CLI finds the running agent.
            st = _run(env, "status")
            assert st.returncode == 0, st.stderr
            assert f"running: {mode} (pid {agent.proc.pid}" in st.stdout
            assert metrics_url in st.stdout and "alerts: 1 firing" in st.stdout
            assert re.search(r"traces:otlp:\S+\s+Failed", st.stdout), st.stdout
            as_json = json.loads(_run(env, "status", "--json").stdout)
            assert as_json["status"]["listeners"]["otlp-receiver"] == otlp

            out = tmp_path / "bundle.zip"
            b = _run(env, "bundle", "-o", str(out), "--since", "10m")
            assert b.returncode == 0, b.stderr
            assert f"reading the running agent: {mode}" in b.stderr
            with zipfile.ZipFile(out) as z:
                exports = json.loads(z.read("export_status.json"))
                health = json.loads(z.read("health.json"))
                alerts = json.loads(z.read("alerts.json"))
                snapshot = z.read("metrics/snapshot.prom").decode()
            failing = {n: e for n, e in exports["exporters"].items() if e["state"] == "Failed"}
            assert any(n.startswith("traces:otlp:") and e["detail"] for n, e in failing.items())
            assert any(t["component"] == "scratch-disk" and t["new"] == "Unhealthy"
                       for t in health["transitions"])
            assert [a["labels"]["alertname"] for a in alerts["active"]] == ["MemoryInUse"]
            assert "system_memory_usage_bytes" in snapshot

            # History in SQLite, read by another process.
            hist = _run(env, "history", "list")
            assert "system_memory_usage_bytes" in hist.stdout, hist.stderr

            # A second agent for the same home is refused, naming the first.
            second = _run(env, "run", "--headless", "--config", str(cfg))
            assert second.returncode == 1
            assert f"pid {agent.proc.pid}" in second.stderr and metrics_url in second.stderr
            if mode == "tray":  # offscreen: the same refusal, without waiting on its dialog
                tray2 = _run({**env, "QT_QPA_PLATFORM": "offscreen"}, "--config", str(cfg))
                assert tray2.returncode == 1, tray2.stderr
                assert f"pid {agent.proc.pid}" in tray2.stderr
        finally:
            code = agent.stop()
        assert code == 0, agent.log()
        assert not (tmp_path / "home" / "data" / "agent.json").exists()
        gone = _run(env, "status")
        assert gone.returncode == 3 and "not running" in gone.stdout
        assert "Traceback" not in agent.log()


def test_cli_status_ignores_a_stale_state_file(tmp_path: Path) -> None:
    data = tmp_path / "home" / "data"
    data.mkdir(parents=True)
    (data / "agent.json").write_text(json.dumps({
        "pid": 999999, "mode": "headless", "version": "0", "started_at": 0, "config": "x",
        "data_dir": str(data), "listeners": {}, "api": "http://127.0.0.1:9/api/v1"}))
    env = {**os.environ, "TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")}
    res = _run(env, "status", "--json")
    assert res.returncode == 3
    assert json.loads(res.stdout)["running"] is False


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_tray_with_no_config_serves_metrics_and_says_where(tmp_path: Path) -> None:
    """The README's first command: no --config, no config.json -> the workstation preset."""
    if _port_taken(4318):
        pytest.skip("127.0.0.1:4318 (the workstation preset's OTLP receiver) is in use here")
    with _session(tmp_path) as (_d, env, _hook):
        env["PROMETHEUS_PORT"] = "0"  # the preset's 9464 may be taken on a test machine
        agent = Agent([], env)
        try:
            agent.wait_line(r"starting as tray \(config: preset workstation")
            url = agent.wait_line(r"serving Prometheus metrics on (http://127\.0\.0\.1:\d+"
                                  r"/metrics)").group(1)
            agent.wait_line(r"writing metrics to \S+metrics\.jsonl")
            agent.wait_line(r"OTLP/HTTP receiver on http://127\.0\.0\.1:4318")
            wait_for(lambda: "system_memory_total_bytes" in _text(url), 20, "/metrics")
        finally:
            code = agent.stop()
        assert code == 0, agent.log()

"""What the default agent keeps in memory: heavy modules load only when a feature uses them.

The agent's resident memory is part of the product (target: RSS <= Glances'). Most of it is
imports, so these tests pin down which imports the default headless agent may carry, and that
each deferred one still loads and works the moment it is needed.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LAZY_PACKAGES = [
    "timeline_telemetry.alerts",
    "timeline_telemetry.alerts.actions",
    "timeline_telemetry.export",
    "timeline_telemetry.health",
    "timeline_telemetry.ingest",
    "timeline_telemetry.tracing",
]

#: Loaded only by features the default agent does not use until data arrives or a user
#: configures them: TLS and mail (actions, OTLP upstream, http checks), protobuf and the
#: OpenTelemetry SDK (received data, File/OTLP exporters, the agent's own spans), asyncio
#: (async health checks).
HEAVY = ["ssl", "http.client", "email", "smtplib", "urllib.request", "asyncio",
         "google.protobuf", "opentelemetry.sdk", "opentelemetry.proto", "concurrent.futures"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    mod = importlib.import_module(package)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{package}.{name}"
        assert name in dir(mod)
    with pytest.raises(AttributeError, match="no_such_name"):
        mod.no_such_name  # noqa: B018


def _run_agent(tmp_path: Path, script: str) -> dict[str, object]:
    """Start the real AgentRuntime (as ``run --headless`` does; default config, ports 0) in
    a fresh interpreter, run ``script`` against it, and return what it printed as JSON."""
    code = textwrap.dedent("""
        import json, socket, sys, urllib.parse
        from pathlib import Path
        from timeline_telemetry.config import parse_config
        from timeline_telemetry.paths import AppPaths
        from timeline_telemetry.runtime import AgentRuntime

        tmp = Path(sys.argv[1])
        cfg = parse_config({"telemetry": {
            "metrics": {"collection_interval": "1s", "exporters": [{"Prometheus": {"port": 0}}]},
            "editor": {"process_names": ["no-such-editor-xyz"]},
            "ingest": {"otlp": {"port": 0}}}}, source="test", base_dir=tmp)
        paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp / "home")})

        def http(port, method, path, body=b"", ctype="application/json"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"{method} {path} HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: {ctype}\\r\\n"
                          f"Content-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
                          .encode() + body)
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            return reply

        def heavy():
            return sorted(m for m in HEAVY if m in sys.modules)

        HEAVY = json.loads(sys.argv[2])
        out = {}
        with AgentRuntime(cfg, paths, mode="headless") as agent:
            mgr = agent.manager
            mgr.wait_for_collections(2, 10)
            prom = mgr.exporters[0].server.bound_port
            otlp = mgr.receiver.bound_port
    """) + textwrap.indent(textwrap.dedent(script), "    ") + \
        "\nprint(json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), json.dumps(HEAVY)],
                          capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_the_default_agent_serves_without_the_heavy_imports(tmp_path: Path) -> None:
    out = _run_agent(tmp_path, """
        reply = http(prom, "GET", "/metrics")
        out["scrape"] = reply.split(b"\\r\\n", 1)[0].decode()
        out["has_cpu"] = b"system_memory_usage_bytes" in reply  # (CPU: a 2nd collection)
        out["health"] = http(prom, "GET", "/health").split(b"\\r\\n", 1)[0].decode()
        out["api"] = http(prom, "GET", "/api/v1/status").split(b"\\r\\n", 1)[0].decode()
        out["heavy"] = heavy()
    """)
    assert out["scrape"] == "HTTP/1.1 200 OK" and out["has_cpu"] is True
    assert str(out["health"]).startswith("HTTP/1.1 ")
    assert out["api"] == "HTTP/1.1 200 OK"
    assert out["heavy"] == []


def test_the_first_otlp_request_loads_protobuf_and_is_stored(tmp_path: Path) -> None:
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "render-frame", "kind": 1, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000500000000"}
    body = json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "timeline-studio"}}]},
        "scopeSpans": [{"spans": [span]}]}]})
    out = _run_agent(tmp_path, f"""
        out["before"] = heavy()
        reply = http(otlp, "POST", "/v1/traces", {body!r}.encode())
        out["status"] = reply.split(b"\\r\\n", 1)[0].decode()
        store = mgr.receiver.trace_store
        out["stored"] = [s.name for t in store.traces() for s in store.trace(t.trace_id)]
        out["after"] = heavy()
    """)
    assert out["before"] == []
    assert out["status"] == "HTTP/1.1 200 OK"
    assert out["stored"] == ["render-frame"]
    assert "google.protobuf" in str(out["after"])


def test_the_agents_own_spans_start_the_sdk_on_first_use(tmp_path: Path) -> None:
    out = _run_agent(tmp_path, """
        out["before"] = "opentelemetry.sdk" in sys.modules
        with mgr.tracer.trace("agent-work") as span:
            span.set_attribute("k", "v")
        out["after"] = "opentelemetry.sdk" in sys.modules
    """)
    assert out == {"before": False, "after": True}

"""ECS JSON lines for ELK: the agent's own log, the editor's log files and the OTLP log records
it pushes, each line checked against the ECS field definitions that ``@elastic/ecs`` publishes
(``tests/logs/ecs-fields``, installed by ``.ci/run``); and the Otlp logs exporter."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.config.schema import TelemetryConfig
from timeline_telemetry.ingest import OtlpReceiver
from timeline_telemetry.logs import ECS_FILE_NAME, AgentLogs, EcsLogFile
from timeline_telemetry.metrics import Metrics

FIELDS_DIR = Path(__file__).with_name("ecs-fields")
REQUIRED = ("@timestamp", "log.level", "message", "service.name", "ecs.version")
#: Our documented custom namespace (docs/logs.md); ``labels.*`` is ECS's own open object.
CUSTOM = ("timeline.",)
_STRING_TYPES = {"keyword", "wildcard", "match_only_text", "text", "constant_keyword", "ip",
                 "flattened"}
_INT_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}


@pytest.fixture(scope="session")
def ecs_fields() -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (FIELDS_DIR / "node_modules" / "@elastic" / "ecs").is_dir():
        pytest.skip("needs node and @elastic/ecs (cd tests/logs/ecs-fields && npm ci)")
    out = subprocess.run([node, "dump.cjs"], cwd=FIELDS_DIR, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    fields: dict[str, dict[str, Any]] = json.loads(out)["fields"]
    assert len(fields) > 500 and "trace.id" in fields  # really the ECS definitions
    return fields


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name != "labels" and not name.startswith(CUSTOM):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def check_ecs_line(line: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One line: JSON, the required fields, and every field an ECS field of the right type
    (or under ``timeline.*``)."""
    flat = flatten(json.loads(line))
    for name in REQUIRED:
        assert isinstance(flat.get(name), str) and flat[name], (name, line)
    dt.datetime.fromisoformat(flat["@timestamp"].replace("Z", "+00:00"))
    for name, value in flat.items():
        if name.startswith(CUSTOM) or name == "timeline":
            continue
        if name == "labels":
            assert isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
            continue
        assert name in fields, f"{name} is not an ECS field: {line}"
        kind = fields[name]["type"]
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list):
            assert "array" in fields[name]["normalize"], (name, line)
        for v in values:
            if kind in _STRING_TYPES:
                assert isinstance(v, str), (name, v)
            elif kind in _INT_TYPES:
                assert isinstance(v, int) and not isinstance(v, bool), (name, v)
            elif kind == "date":
                dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
            elif kind == "boolean":
                assert isinstance(v, bool), (name, v)
    return flat


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def config(body: dict[str, Any], tmp_path: Path) -> TelemetryConfig:
    return parse_config({"telemetry": body}, source="test", base_dir=tmp_path)


@pytest.fixture
def agent_logger() -> Iterator[logging.Logger]:
    """A logger of its own (not the package's, whose handlers other tests configure)."""
    log = logging.getLogger("ecs_test_agent")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        yield log
    finally:
        for h in list(log.handlers):
            log.removeHandler(h)


def test_agent_log_lines_are_ecs_masked_and_carry_span_ids(
    tmp_path: Path, ecs_fields: dict[str, dict[str, Any]], agent_logger: logging.Logger,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    ecs = EcsLogFile(tmp_path / ECS_FILE_NAME, service_name="timeline-telemetry",
                     editor_service="timeline-studio", max_bytes=1 << 20, backups=1)
    agent_logger.addHandler(ecs.handler)
    agent_logger.info("exporter started", extra={"fields": {"exporter": "otlp",
                                                            "url": "https://u:pw9@h/x"},
                                                 "rows": 3})
    agent_logger.warning("upstream https://bob:hunter2@collector:4318 failed; token=s3cr3t")
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    with tracer.start_as_current_span("render") as span:
        try:
            raise ValueError("password=hunter2 rejected")
        except ValueError:
            agent_logger.exception("render failed")
        want_trace = f"{span.get_span_context().trace_id:032x}"
    ecs.close()

    docs = [check_ecs_line(line, ecs_fields) for line in lines(tmp_path / ECS_FILE_NAME)]
    assert [d["log.level"] for d in docs] == ["info", "warning", "error"]
    assert {d["service.name"] for d in docs} == {"timeline-telemetry"}
    assert {d["event.dataset"] for d in docs} == {"timeline_telemetry.agent"}
    assert docs[0]["log.logger"] == "ecs_test_agent"
    assert docs[0]["timeline.fields"]["exporter"] == "otlp" and docs[0]["timeline.rows"] == 3
    assert "pw9" not in docs[0]["timeline.fields"]["url"]
    text = (tmp_path / ECS_FILE_NAME).read_text()
    assert "hunter2" not in text and "s3cr3t" not in text  # masked as in a bundle
    assert "trace.id" not in docs[0]
    assert docs[2]["trace.id"] == want_trace and len(docs[2]["span.id"]) == 16
    assert docs[2]["error.type"] == "ValueError" and docs[2]["message"] == "render failed"


def test_the_file_is_bounded(tmp_path: Path, agent_logger: logging.Logger) -> None:
    ecs = EcsLogFile(tmp_path / ECS_FILE_NAME, service_name="a", editor_service="b",
                     max_bytes=4096, backups=2)
    agent_logger.addHandler(ecs.handler)
    for i in range(400):
        agent_logger.info("line %d %s", i, "x" * 50)
    ecs.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [ECS_FILE_NAME, f"{ECS_FILE_NAME}.1", f"{ECS_FILE_NAME}.2"]
    assert all(p.stat().st_size <= 4096 for p in tmp_path.iterdir())


def test_editor_log_files_are_followed_into_ecs_lines(
    tmp_path: Path, ecs_fields: dict[str, dict[str, Any]],
) -> None:
    logs_dir, editor_dir = tmp_path / "logs", tmp_path / "editor"
    editor_dir.mkdir()
    old = editor_dir / "studio.log"
    old.write_text("2024-01-01 INFO before the agent started\n")
    cfg = config({"editor": {"log_globs": [str(editor_dir / "*.log")]}}, tmp_path)
    logs = AgentLogs(cfg, log_dir=logs_dir, metrics=Metrics(),
                     logger_name="ecs_test_unused", interval_s=3600)
    logs.start()
    try:
        with old.open("a") as f:
            f.write("2024-01-01 12:00:00 ERROR decoder crashed api_key=abc123\n")
            f.write("a partial line")
        logs.tick()
        with old.open("a") as f:
            f.write(" now ended\n")
        (editor_dir / "render.log").write_text("WARN late file\n")  # new: read from start
        logs.tick()
    finally:
        logs.shutdown(timeout_s=2)
    docs = [check_ecs_line(line, ecs_fields) for line in lines(logs_dir / ECS_FILE_NAME)]
    editor = [d for d in docs if d["event.dataset"] == "timeline_studio.log"]
    assert [d["message"] for d in editor][:2] == [
        "2024-01-01 12:00:00 ERROR decoder crashed api_key=***", "a partial line now ended"]
    assert [d["log.level"] for d in editor] == ["error", "info", "warn"]
    assert editor[0]["log.file.path"] == str(old)
    assert editor[2]["log.file.path"] == str(editor_dir / "render.log")
    assert {d["service.name"] for d in editor} == {"timeline-studio"}
    assert not any("before the agent started" in d["message"] for d in docs)
    assert all("process.pid" not in d for d in editor)  # not the agent's process


def push_logs(endpoint: str) -> None:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="timeline-studio")))
    sl = rl.scope_logs.add()
    sl.scope.name = "studio.render"
    rec = sl.log_records.add()
    rec.time_unix_nano = 1_700_000_000_123_000_000
    rec.severity_number = 17  # type: ignore[assignment]
    rec.severity_text = "ERROR"
    rec.body.string_value = "render failed password=hunter2"
    rec.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    rec.span_id = bytes.fromhex("b7ad6b7169203331")
    rec.attributes.append(KeyValue(key="clip", value=AnyValue(string_value="c-7")))
    plain = sl.log_records.add()
    plain.severity_number = 9  # type: ignore[assignment]
    plain.body.string_value = "cache warm"
    http_req = urllib.request.Request(
        f"{endpoint}/v1/logs", data=req.SerializeToString(), method="POST",
        headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(http_req, timeout=10) as resp:
        assert resp.status == 200


def test_otlp_records_from_the_editor_become_ecs_lines(
    tmp_path: Path, ecs_fields: dict[str, dict[str, Any]],
) -> None:
    metrics = Metrics()
    logs = AgentLogs(config({}, tmp_path), log_dir=tmp_path / "logs", metrics=metrics,
                     logger_name="ecs_test_unused")
    receiver = OtlpReceiver(metrics=metrics, port=0)
    receiver.log_listener = logs.on_otlp_logs
    logs.start()
    receiver.start()
    try:
        push_logs(receiver.endpoint)
    finally:
        receiver.shutdown(2)
        logs.shutdown(timeout_s=2)
    docs = [check_ecs_line(line, ecs_fields)
            for line in lines(tmp_path / "logs" / ECS_FILE_NAME)]
    otlp = [d for d in docs if d["event.dataset"] == "timeline_studio.otlp"]
    assert [d["message"] for d in otlp] == ["render failed password=***", "cache warm"]
    first = otlp[0]
    assert first["log.level"] == "error" and first["log.logger"] == "studio.render"
    assert first["trace.id"] == "0af7651916cd43dd8448eb211c80319c"
    assert first["span.id"] == "b7ad6b7169203331"
    assert first["@timestamp"].startswith("2023-11-14T22:13:20.123")
    assert first["service.name"] == "timeline-studio"
    assert first["timeline.attributes"] == {"clip": "c-7"}
    assert "trace.id" not in otlp[1] and otlp[1]["log.level"] == "info"


class _Collector:
    """A stand-in OTel Collector: records each OTLP/HTTP logs request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], ExportLogsServiceRequest]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()},
                                       ExportLogsServiceRequest.FromString(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[str]:
        return [r.body.string_value for _, _, req in self.requests for rl in req.resource_logs
                for sl in rl.scope_logs for r in sl.log_records]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def collector() -> Iterator[_Collector]:
    c = _Collector()
    try:
        yield c
    finally:
        c.close()


def test_otlp_logs_exporter_forwards_all_three_sources(
    tmp_path: Path, collector: _Collector, agent_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=studio")
    editor_dir = tmp_path / "editor"
    editor_dir.mkdir()
    cfg = config({"logs": {"ecs_file": False, "exporters": [{"Otlp": {
        "endpoint": collector.url, "compression": "gzip"}}]},
        "editor": {"log_globs": [str(editor_dir / "*.log")]}}, tmp_path)
    metrics = Metrics()
    logs = AgentLogs(cfg, log_dir=tmp_path / "logs", metrics=metrics,
                     logger_name=agent_logger.name, interval_s=3600)
    receiver = OtlpReceiver(metrics=metrics, port=0)
    receiver.log_listener = logs.on_otlp_logs
    logs.start()
    receiver.start()
    try:
        agent_logger.warning("agent says token=abc")
        (editor_dir / "studio.log").write_text("INFO from the file\n")
        push_logs(receiver.endpoint)
        logs.tick()
        wait_for(lambda: len(collector.bodies()) >= 4, timeout=10, what="4 records upstream")
    finally:
        receiver.shutdown(2)
        logs.shutdown(timeout_s=2)
    assert sorted(collector.bodies()) == sorted([
        "agent says token=***", "INFO from the file", "render failed password=***",
        "cache warm"])
    assert {path for path, _, _ in collector.requests} == {"/v1/logs"}
    assert all(h.get("x-tenant") == "studio" and h.get("content-encoding") == "gzip"
               for _, h, _ in collector.requests)
    services = {kv.value.string_value for _, _, req in collector.requests
                for rl in req.resource_logs for kv in rl.resource.attributes
                if kv.key == "service.name"}
    assert services == {"timeline-telemetry", "timeline-studio"}
    assert not (tmp_path / "logs" / ECS_FILE_NAME).exists()  # ecs_file: false


def test_logs_config_defaults_and_refusals(tmp_path: Path) -> None:
    from timeline_telemetry.config import ConfigError

    d = config({}, tmp_path).logs
    assert d.ecs_file and d.follow_editor_logs and d.max_bytes == 20 * 1024 * 1024
    assert d.exporters == ()
    with pytest.raises(ConfigError, match=r"logs\.ecs_file"):
        config({"logs": {"exporters": [{"File": {"path": "x"}}]}}, tmp_path)
    with pytest.raises(ConfigError, match="max_bytes"):
        config({"logs": {"max_bytes": 10}}, tmp_path)


def test_the_manager_writes_its_own_log_as_ecs_and_detaches_on_shutdown(
    tmp_path: Path, ecs_fields: dict[str, dict[str, Any]],
) -> None:
    from timeline_telemetry.manager import TelemetryManager
    from timeline_telemetry.paths import AppPaths

    cfg = config({"metrics": {"exporters": [], "history": {"enabled": False}},
                  "editor": {"process_names": ["no-such-editor-xyz"]},
                  "health": {"enabled": False}, "ingest": {"otlp": {"enabled": False}}},
                 tmp_path)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
    package = logging.getLogger("timeline_telemetry")
    before = list(package.handlers)
    mgr = TelemetryManager(cfg, paths=paths)
    mgr.initialize()
    try:
        assert mgr.logs is not None and len(package.handlers) == len(before) + 1
        logging.getLogger("timeline_telemetry.test").warning("from the agent")
    finally:
        mgr.shutdown()
    assert package.handlers == before
    docs = [check_ecs_line(line, ecs_fields)
            for line in lines(paths.log_dir / ECS_FILE_NAME)]
    mine = [d for d in docs if d["message"] == "from the agent"]
    assert len(mine) == 1 and mine[0]["service.name"] == "timeline-telemetry"

"""The staged incident, read back from the zip alone.

As an editor would live it: a full media drive, the editor (a real process named
``timeline-studio``) with two CPU-bound ``ffmpeg`` children, an upstream trace exporter that
refuses connections, the editor's spans pushed with the real OpenTelemetry SDK (one in
error, "encoder crashed"), an NVENC error with a home path in the editor's log. The agent
runs in-process; the bundle is made by the CLI's ``run_bundle_command`` while it runs, and
the test asserts on what support would get (and again once the agent stopped, from the
spans it saved and what it logged): the error span, no home path or user name,
RFC 3339 times with offset, the full drive, and a ``SUMMARY.md`` that names the full drive,
the failing exporter and the busy process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import wait_for
from timeline_telemetry.config import parse_config
from timeline_telemetry.diagnostics import run_bundle_command
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime

PYTHON = os.path.realpath(sys.executable)
USER = "jdoe-editor"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
#: The editor: starts two busy ffmpeg children (bounded to 20 s), prints their pids, then
#: waits for its stdin to close.
EDITOR = """
import subprocess, sys
burn = "import time\\nend = time.time() + 20\\nwhile time.time() < end: pass"
kids = [subprocess.Popen([sys.argv[1], "-c", burn]) for _ in range(2)]
print(" ".join(str(k.pid) for k in kids), flush=True)
sys.stdin.read()
for k in kids:
    k.kill()
    k.wait()
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def editor(tmp_path: Path) -> Iterator[list[int]]:
    """The editor and its two ffmpeg children, all killed afterwards."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("timeline-studio", "ffmpeg"):
        (bin_dir / name).symlink_to(PYTHON)
    proc = subprocess.Popen([str(bin_dir / "timeline-studio"), "-c", EDITOR,
                             str(bin_dir / "ffmpeg")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    kids: list[int] = []
    try:
        assert proc.stdout is not None
        kids = [int(p) for p in proc.stdout.readline().split()]
        yield [proc.pid, *kids]
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # the editor kills and reaps its children, and exits
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            for pid in kids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def _push_spans(endpoint: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    tp = TracerProvider(resource=Resource({"service.name": "timeline-studio"}),
                        shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    tracer = tp.get_tracer("timeline-studio")
    with tracer.start_as_current_span("export_timeline"):
        with tracer.start_as_current_span("load_clips"):
            pass
        with tracer.start_as_current_span("encode_h264_nvenc") as span:
            span.set_status(Status(StatusCode.ERROR, "encoder crashed"))
    tp.shutdown()


def _config(tmp: Path, home: Path) -> Any:
    media = home / "Videos" / "media"
    media.mkdir(parents=True)
    logs = tmp / "editor-logs"
    logs.mkdir()
    (logs / "timeline-studio.log").write_text(
        f"2026-12-05 21:06:58 INFO opened project {home}/Videos/client_wedding.tlp\n"
        "2026-12-05 21:07:19 ERROR NVENC error: OpenEncodeSessionEx failed: out of memory\n"
        f"2026-12-05 21:07:19 INFO {USER} dismissed the dialog\n")
    body = {
        "metrics": {"collection_interval": "1s",
                    "collectors": {"process_rescan_interval": "1s", "gpu": False},
                    "exporters": [{"Prometheus": {"host": "127.0.0.1", "port": 0}}]},
        "tracing": {"enabled": True, "exporters": [
            {"Otlp": {"endpoint": f"http://127.0.0.1:{_closed_port()}"}}]},
        "ingest": {"otlp": {"port": 0}},
        "health": {"check_interval": "1s", "checks": [
            {"DiskSpace": {"name": "media-drive", "path": str(media),
                           "max_used_fraction": 0.0001, "warning_margin": 0.00005}}]},
        "editor": {"media_dirs": [str(media)], "log_globs": [str(logs / "*.log")]},
    }
    return parse_config({"telemetry": body}, source=str(tmp / "c.json"), base_dir=tmp)


@contextlib.contextmanager
def _agent_log(paths: AppPaths) -> Iterator[None]:
    """The agent's JSON-lines log file, as ``configure_logging`` writes it (the in-process
    agent logs nowhere otherwise), removed afterwards."""
    import logging

    from timeline_telemetry.logsetup import LOG_FILE_NAME, JsonLineFormatter

    paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(paths.log_dir / LOG_FILE_NAME, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("timeline_telemetry")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()


def _zip_texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8", errors="replace") for n in zf.namelist()}


def _times(value: object, key: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _times(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _times(v, key)
    elif key in ("when", "timestamp", "start", "end", "created_at", "activeAt",
                 "last_error_at", "boot_time"):
        yield key, value


def test_the_staged_incident_reads_from_the_zip_alone(
        tmp_path: Path, editor: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / USER
    monkeypatch.setenv("HOME", str(home))
    for var in ("LOGNAME", "USER"):
        monkeypatch.setenv(var, USER)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    config = _config(tmp_path, home)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "agent-home")})
    runtime = AgentRuntime(config, paths, mode="headless")
    with _agent_log(paths):  # what the stopped agent's bundle reads back
        runtime.start()
        try:
            receiver = runtime.listeners()["otlp-receiver"]
            _push_spans(receiver)
            exporter = wait_for(lambda: next((n for n, st in runtime.export_status().items()
                                              if st.get("last_error")), None),
                                timeout=30, what="the upstream trace exporter's error")
            health = runtime.manager.health
            assert health is not None
            wait_for(lambda: any(t.component == "media-drive" for t in health.transitions()),
                     timeout=20, what="the full drive's health transition")
            out = tmp_path / "bundle.zip"
            stdout, stderr = io.StringIO(), io.StringIO()
            code = run_bundle_command(config, paths, out=out, since_s=600, preview=False,
                                      stdout=stdout, stderr=stderr)
            assert code == 0, stderr.getvalue()
        finally:
            runtime.stop()
    assert "reading the running agent" in stderr.getvalue()
    _check_the_zip(_zip_texts(out), home=home, exporter=exporter)

    # After the agent stopped: the spans it saved, and what it logged.
    stopped = tmp_path / "stopped.zip"
    stderr = io.StringIO()
    code = run_bundle_command(config, paths, out=stopped, since_s=600, preview=False,
                              stdout=io.StringIO(), stderr=stderr)
    assert code == 0, stderr.getvalue()
    assert "no agent is running" in stderr.getvalue()
    _check_the_zip(_zip_texts(stopped), home=home, exporter=exporter)


def _check_the_zip(files: dict[str, str], *, home: Path, exporter: str) -> None:

    # The editor's error span, from the agent's trace store.
    store = json.loads(files["traces/store.json"])
    errors = [s for s in store["spans"] if s["status"] == "error"]
    assert [s["status_message"] for s in errors] == ["encoder crashed"]
    assert len(store["spans"]) == 3

    # No home path, no user name, anywhere (file names included).
    for name, text in files.items():
        assert str(home) not in text, name
        assert USER not in text.lower() and USER not in name, name
    assert "~/Videos/client_wedding.tlp" in "".join(
        t for n, t in files.items() if n.startswith("editor-logs/"))

    # RFC 3339 with the local offset.
    for name in ("health.json", "export_status.json", "manifest.json", "traces/store.json",
                 "system.json"):
        found = list(_times(json.loads(files[name])))
        assert found, name
        for key, value in found:
            if value is not None:
                assert isinstance(value, str) and RFC3339.match(value), (name, key, value)

    # The full drive, listed with its free space.
    drives = json.loads(files["system.json"])["configured_drives"]
    media = next(d for d in drives if "media_dir" in d["roles"])
    assert media["path"] == "~/Videos/media" and "free_bytes" in media

    # SUMMARY.md first, short, and naming what went wrong.
    manifest = json.loads(files["manifest.json"])
    assert manifest["files"][0]["name"] == "SUMMARY.md"
    assert files["README.txt"].split("Files:\n", 1)[1].lstrip().startswith("SUMMARY.md")
    summary = files["SUMMARY.md"]
    assert len(summary.splitlines()) <= 70, summary
    sections = _sections(summary)
    assert "**media-drive Unhealthy**: ~/Videos/media" in sections["Fullest drives"], summary
    assert "media-drive" in sections["Health"], summary
    assert re.search(r"\S+ media-drive: Unknown -> Unhealthy: drive", sections["Health"]), summary
    assert f"{exporter}: **Failed**: cannot reach" in sections["Exporters"], summary
    assert "ffmpeg" in sections["Top processes"], summary
    assert "timeline-studio" in sections["Editor"], summary
    assert "encoder crashed" in sections["Error spans"], summary
    assert "NVENC error" in sections["Last errors in the editor's log"], summary
    assert "incomplete" not in summary, summary
    stamps = re.findall(r"\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?", summary)
    assert stamps and all(RFC3339.match(s) for s in stamps), stamps


def _sections(md: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in md.split("\n## ")[1:]:
        title, _, body = block.partition("\n")
        out[title.strip()] = body
    return out

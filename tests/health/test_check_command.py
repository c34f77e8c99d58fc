"""run_check_command (``timeline-telemetry check``) end to end from JSON configs: exit codes,
table and JSON output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from health_helpers import LocalServer

from timeline_telemetry.config import TelemetryConfig, parse_config
from timeline_telemetry.health import run_check_command


def config(tmp_path: Path, checks: list[object], **health: object) -> TelemetryConfig:
    return parse_config({"telemetry": {"health": {"checks": checks, **health}}},
                        source="test", base_dir=tmp_path)


def run(cfg: TelemetryConfig, tmp_path: Path, *, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check_command(cfg, as_json=as_json, out=out, data_dir=tmp_path / "data")
    return code, out.getvalue()


def roomy_disk(tmp_path: Path) -> dict[str, object]:
    return {"DiskSpace": {"path": str(tmp_path), "max_used_fraction": 1, "warning_margin": 0}}


def test_healthy_exits_0_with_a_table(tmp_path: Path) -> None:
    code, text = run(config(tmp_path, [
        roomy_disk(tmp_path), {"Memory": {"max_used_fraction": 1, "warning_margin": 0}}]),
        tmp_path)
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "TIME", "MESSAGE"]
    assert lines[1].startswith(f"disk:{tmp_path}") and "Healthy" in lines[1]
    assert lines[2].startswith("memory") and "Healthy" in lines[2]
    assert lines[-1] == "overall: Healthy"


def test_warning_exits_1(tmp_path: Path) -> None:
    code, text = run(config(tmp_path, [
        roomy_disk(tmp_path),
        {"DiskSpace": {"path": str(tmp_path), "max_used_fraction": 1, "warning_margin": 0.99999,
                       "name": "almost-full"}}]), tmp_path)
    assert code == 1, text
    assert text.splitlines()[-1] == "overall: Warning"


def test_unhealthy_exits_2_and_json(tmp_path: Path) -> None:
    code, text = run(config(tmp_path, [
        roomy_disk(tmp_path), {"Database": {"path": "missing.sqlite3"}}]), tmp_path,
        as_json=True)
    assert code == 2
    data = json.loads(text)
    assert data["status"] == "Unhealthy" and data["status_code"] == 3
    db = data["checks"]["database:missing.sqlite3"]
    assert db["status"] == "Unhealthy" and db["message"].endswith("does not exist")
    assert data["checks"][f"disk:{tmp_path}"]["status"] == "Healthy"


def test_a_timeout_counts_as_unhealthy(tmp_path: Path, http_server: LocalServer) -> None:
    http_server.mode = "hang"
    code, text = run(config(tmp_path, [{"Http": {"url": http_server.url,
                                                 "timeout": "300ms"}}]), tmp_path)
    assert code == 2
    assert "timed out after 300ms" in text


def test_no_checks(tmp_path: Path) -> None:
    code, text = run(config(tmp_path, []), tmp_path)
    assert code == 0
    assert "no health checks configured" in text


def test_default_checks_without_ffmpeg_on_path(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    cfg = parse_config({"telemetry": {}}, source="test", base_dir=tmp_path)
    code, text = run(cfg, tmp_path, as_json=True)
    data = json.loads(text)
    assert list(data["checks"]) == ["disk", "memory", "ffmpeg"]  # no exporter check here
    assert data["checks"]["ffmpeg"]["status"] == "Unhealthy"
    assert code == 2


def test_default_checks_with_ffmpeg_on_path(tmp_path: Path, ffmpeg_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(ffmpeg_dir))
    cfg = parse_config({"telemetry": {}}, source="test", base_dir=tmp_path)
    _, text = run(cfg, tmp_path, as_json=True)
    ffmpeg = json.loads(text)["checks"]["ffmpeg"]
    assert ffmpeg["status"] == "Healthy", ffmpeg["message"]
    assert ffmpeg["metadata"]["path"] == str(ffmpeg_dir / "ffmpeg")

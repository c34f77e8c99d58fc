"""The diagnostics bundle: secrets planted everywhere never reach the zip; the manifest
counts what was scrubbed; the size cap trims the oldest history; preview writes nothing."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import zipfile
from pathlib import Path

import psutil
from bundle_fixtures import ALL_SECRETS, Planted, fake_run

from timeline_telemetry.diagnostics import Providers, build_bundle


def _build(planted: Planted, out: Path, **kw: object):
    return build_bundle(
        config=planted.config, paths=planted.paths, out=out, since_s=2 * 3600,
        environ=planted.environ, keyring_get=planted.keyring_get, psutil_mod=psutil,
        run=fake_run, editor_log_globs=[planted.editor_glob], process_sample_s=0.01,
        **{"run_health_checks": False, **kw},  # type: ignore[arg-type]
    )


def _unpack(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_no_planted_secret_survives_in_any_byte(planted: Planted, tmp_path: Path) -> None:
    steps: list[tuple[str, float]] = []
    result = _build(planted, tmp_path / "out" / "bundle.zip",
                    progress=lambda s, f: steps.append((s, f)))
    assert result.path is not None and result.path.exists()
    files = _unpack(result.path)
    forms = set()
    for s in ALL_SECRETS:
        forms |= {s.encode(), s.encode("utf-16-le"), base64.b64encode(s.encode())}
    for name, data in files.items():
        for form in forms:
            assert form not in data, f"{form!r} leaked into {name}"
    # the whole archive, compressed bytes included (stored entries would show plain text)
    raw = result.path.read_bytes()
    for s in ALL_SECRETS:
        assert s.encode() not in raw
    assert steps[-1] == ("done", 1.0)
    assert [f for _, f in steps] == sorted(f for _, f in steps)


def test_bundle_content_is_useful_and_manifest_counts_scrubbing(
    planted: Planted, tmp_path: Path
) -> None:
    result = _build(planted, tmp_path / "b.zip")
    files = _unpack(result.path)  # type: ignore[arg-type]
    expected = {"README.txt", "manifest.json", "system.json", "config.json", "health.json",
                "alerts.json", "export_status.json", "processes.json", "traces.jsonl",
                "logs.jsonl", "metrics/history.csv", "agent-logs/agent.log",
                "editor-logs/studio.log"}
    assert expected <= set(files)
    manifest = json.loads(files["manifest.json"])
    scrubbed = manifest["scrubbed"]
    for kind in ("secret_value", "secret_key", "bearer", "basic", "url_userinfo",
                 "url_query_token", "slack_webhook", "pagerduty_key"):
        assert scrubbed.get(kind, 0) > 0, kind
    assert manifest["bundle_version"] == 1
    assert {f["name"] for f in manifest["files"]} >= expected - {"manifest.json", "README.txt"}
    assert any(item["what"] == "metrics/snapshot.prom" for item in manifest["left_out"])
    assert json.loads(files["alerts.json"])["note"] == "alerting not configured"
    # still readable: span names, metric history, the window filter on logs
    assert b"render_timeline" in files["traces.jsonl"]
    rows = list(csv.DictReader(io.StringIO(files["metrics/history.csv"].decode())))
    assert {r["name"] for r in rows} == {"system_cpu_usage_percent", "editor_remote_up"}
    assert b"outside the window" not in files["logs.jsonl"]
    assert len(files["logs.jsonl"].splitlines()) == 2
    assert b"frame 12 done" in files["editor-logs/studio.log"]
    config = json.loads(files["config.json"])
    otlp = config["telemetry"]["tracing"]["exporters"][1]["Otlp"]
    assert otlp["headers"]["Authorization"] == "keyring:otlp_token"  # a name, kept
    assert otlp["headers"]["x-tenant-secret"] == "***"
    readme = files["README.txt"].decode()
    assert "metrics/history.csv" in readme and "Left out" in readme


def test_providers_fill_live_files(planted: Planted, tmp_path: Path) -> None:
    def broken() -> object:
        raise RuntimeError("boom")

    result = _build(planted, tmp_path / "b.zip", providers=Providers(
        snapshot_text=lambda: "# TYPE up gauge\nup 1\n",
        alerts=lambda: {"active": [{"name": "DiskFull", "webhook":
                                    f"https://hooks.slack.com/services/{ALL_SECRETS[5]}"}]},
        health=broken,
    ))
    files = _unpack(result.path)  # type: ignore[arg-type]
    assert files["metrics/snapshot.prom"] == b"# TYPE up gauge\nup 1\n"
    assert b"DiskFull" in files["alerts.json"] and ALL_SECRETS[5].encode() not in \
        files["alerts.json"]
    assert "boom" in json.loads(files["health.json"])["error"]


def test_size_cap_trims_oldest_history_first(planted: Planted, tmp_path: Path) -> None:
    full = _build(planted, tmp_path / "full.zip", preview=True)
    hist = next(e for e in full.entries if e.name == "metrics/history.csv")
    cap = full.total_bytes - hist.size // 2 + 64 * 1024
    result = _build(planted, tmp_path / "capped.zip", size_cap=cap)
    files = _unpack(result.path)  # type: ignore[arg-type]
    assert sum(len(b) for n, b in files.items() if n != "manifest.json") <= cap
    rows = list(csv.DictReader(io.StringIO(files["metrics/history.csv"].decode())))
    full_rows = 240
    assert 0 < len(rows) < full_rows
    newest = max(r["timestamp"] for r in rows)
    assert newest >= max(r["timestamp"] for r in rows if r["name"] == "editor_remote_up")
    manifest = json.loads(files["manifest.json"])
    assert any("trimmed" in item["why"] for item in manifest["left_out"])


def test_preview_writes_nothing(planted: Planted, tmp_path: Path) -> None:
    out = tmp_path / "never.zip"
    result = _build(planted, out, preview=True)
    assert result.path is None and not out.exists()
    assert {e.name for e in result.entries} >= {"manifest.json", "config.json"}
    assert list(tmp_path.glob(".never.zip*")) == []


def test_no_history_and_no_agent_still_builds(tmp_path: Path) -> None:
    from timeline_telemetry.config import TelemetryConfig
    from timeline_telemetry.paths import AppPaths

    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    result = build_bundle(config=TelemetryConfig(), paths=paths, out=tmp_path / "x.zip",
                          since_s=600, preview=False, progress=None, environ={},
                          psutil_mod=psutil, run=fake_run, process_sample_s=0.0,
                          run_health_checks=False)
    files = _unpack(result.path)  # type: ignore[arg-type]
    whats = {i["what"] for i in json.loads(files["manifest.json"])["left_out"]}
    assert {"metrics/history.csv", "traces.jsonl"} <= whats
    assert not (tmp_path / "d").exists()  # reading never creates the agent's folders


def test_bundle_command_preview_then_write(planted: Planted, tmp_path: Path) -> None:
    from timeline_telemetry.diagnostics import default_bundle_name, run_bundle_command

    out, err = io.StringIO(), io.StringIO()
    code = run_bundle_command(planted.config, planted.paths, out=tmp_path / "p.zip",
                              since_s=3600, preview=True, stdout=out, stderr=err)
    assert code == 0 and not (tmp_path / "p.zip").exists()
    assert "metrics/history.csv" in out.getvalue() and "[100%] done" in err.getvalue()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = run_bundle_command(planted.config, planted.paths, out=blocker / "b.zip",
                              since_s=3600, preview=False, stdout=out, stderr=err)
    assert code == 2 and "cannot write the bundle" in err.getvalue()
    assert default_bundle_name(0).startswith("timeline-telemetry-diagnostics-")


def test_otlp_and_log_caps_keep_the_newest(planted: Planted, tmp_path: Path) -> None:
    logs = planted.paths.data_dir / "otlp-logs.jsonl"
    original = logs.read_text()
    filler = "".join(original.splitlines(keepends=True)[1:2]) * 200  # in-window lines
    logs.write_text(filler + original.splitlines(keepends=True)[2])  # newest: the Slack one
    agent_log = planted.paths.log_dir / "agent.log"
    agent_log.write_text("old line\n" * 5000 + "newest line\n")
    result = _build(planted, tmp_path / "b.zip", log_cap=4096)
    files = _unpack(result.path)  # type: ignore[arg-type]
    kept = files["logs.jsonl"].splitlines()
    assert 0 < len(kept) < 201 and b"hooks.slack.com" in kept[-1]
    assert files["agent-logs/agent.log"].startswith(b"[truncated: the first ")
    assert files["agent-logs/agent.log"].endswith(b"newest line\n")
    whats = " ".join(i["what"] for i in result.left_out)
    assert "logs.jsonl: the" in whats


def test_a_flood_of_pushed_series_is_cut_by_the_cap_and_the_machines_own_come_first(
        planted: Planted, tmp_path: Path) -> None:
    """After an editor flooded the agent with long-labelled series, the bundle still
    finishes within its cap (each pass stops writing at the budget) and keeps the
    workstation's own series."""
    from timeline_telemetry.history import HistoryStore
    from timeline_telemetry.metrics.model import FlatSample

    with HistoryStore(planted.paths.data_dir / "history.sqlite3", retention=86400) as store:
        now = time.time()
        for step in range(5):
            store.append(now - 60 + step, [
                FlatSample(f"app_flood_{i}", (("v", "x" * 4000 + str(i)),), 1.0)
                for i in range(400)])
            store.flush()
    full = _build(planted, tmp_path / "full.zip", preview=True)
    others = full.total_bytes - next(
        e.size for e in full.entries if e.name == "metrics/history.csv")
    cap = others + 1_000_000 + 64 * 1024  # room for about 1 MB of history
    result = _build(planted, tmp_path / "capped.zip", size_cap=cap)
    files = _unpack(result.path)  # type: ignore[arg-type]
    hist = files["metrics/history.csv"]
    assert sum(len(b) for n, b in files.items() if n != "manifest.json") <= cap
    assert 500_000 < len(hist) < 1_100_000
    rows = list(csv.DictReader(io.StringIO(hist.decode())))
    names = [r["name"] for r in rows]
    assert "editor_remote_up" in names  # the fixture's own series survived the cut
    assert any(n.startswith("app_flood_") for n in names)
    assert len({n for n in names if n.startswith("app_flood_")}) < 400
    manifest = json.loads(files["manifest.json"])
    assert any("series after the last one written" in item["what"]
               for item in manifest["left_out"])

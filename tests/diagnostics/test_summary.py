"""``SUMMARY.md`` from the bundle's files: short, "nothing" for empty sections, never fails."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from bundle_fixtures import ALL_SECRETS, Planted

from support import markdown_sections
from timeline_telemetry.diagnostics import build_bundle
from timeline_telemetry.diagnostics.summary import summary_markdown

TIMES = {"created_at": "2026-12-05T21:10:00+01:00", "start": "2026-12-05T19:10:00+01:00",
         "end": "2026-12-05T21:10:00+01:00"}


def _j(value: object) -> bytes:
    return json.dumps(value).encode()


def test_empty_sections_say_nothing_and_absent_files_are_named() -> None:
    files = {"alerts.json": _j({"active": [], "history": []}),
             "export_status.json": _j({"exporters": {}}),
             "traces/store.json": _j({"spans": []})}
    sections = markdown_sections(summary_markdown(files, **TIMES))
    assert sections["Alerts"] == "- nothing"
    assert sections["Exporters"] == "- nothing"
    assert sections["Error spans"] == "- nothing"
    assert sections["Last errors in the editor's log"] == "- nothing"
    assert sections["Health"] == "- summary incomplete: health.json is not in the bundle"
    assert "processes.json is not in the bundle" in sections["Top processes"]


def test_malformed_files_do_not_fail_it() -> None:
    files = {name: b"\xff{not json" for name in (
        "health.json", "alerts.json", "export_status.json", "system.json", "processes.json",
        "traces/store.json")}
    files["editor-logs/a.log"] = b"\xff\xfe binary"
    md = summary_markdown(files, **TIMES)
    sections = markdown_sections(md)
    assert "health.json is not readable JSON" in sections["Health"]
    assert sections["Last errors in the editor's log"] == "- nothing"
    # Wrong shapes (lists, strings where objects are expected) do not fail it either.
    odd = {name: _j(["x", 1]) for name in files if name.endswith(".json")}
    odd["system.json"] = _j({"configured_drives": [{"path": 3}, "x"], "time_zone": "x"})
    odd["health.json"] = _j({"current": {"status": "Healthy", "checks": {"a": 1}},
                             "transitions": "x"})
    assert "# Diagnostics summary" in summary_markdown(odd, **TIMES)


def test_the_editor_log_keeps_the_last_ten_error_lines() -> None:
    log = "".join(f"12:00:{i:02d} ERROR frame {i} failed\n12:00:{i:02d} INFO fine\n"
                  for i in range(30))
    md = summary_markdown({"editor-logs/studio.log": log.encode()}, **TIMES)
    lines = markdown_sections(md)["Last errors in the editor's log"].splitlines()
    assert len(lines) == 10 and "frame 29 failed" in lines[-1] and "frame 20" in lines[0]


def test_the_bundle_puts_it_first(planted: Planted, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    result = build_bundle(config=planted.config, paths=planted.paths, out=out,
                          environ=planted.environ, keyring_get=planted.keyring_get,
                          run=lambda argv, t: "", editor_log_globs=[planted.editor_glob],
                          process_sample_s=0.0, run_health_checks=False)
    with zipfile.ZipFile(out) as zf:
        summary = zf.read("SUMMARY.md").decode()
        manifest = json.loads(zf.read("manifest.json"))
        readme = zf.read("README.txt").decode()
    assert manifest["files"][0]["name"] == "SUMMARY.md"
    assert readme.split("Files:\n", 1)[1].lstrip().startswith("SUMMARY.md")
    assert "SUMMARY.md" in [e.name for e in result.entries]
    assert len(summary.splitlines()) <= 70
    assert "incomplete" not in markdown_sections(summary)["Last errors in the editor's log"]
    for secret in ALL_SECRETS:  # built from the scrubbed files, scrubbed once more
        assert secret not in summary


def test_the_editor_over_the_window_when_the_history_has_it() -> None:
    stats = {"avg": 150.0, "max": 199.0, "last": 190.0, "points": 20}
    doc = {"top_by_cpu": [{"pid": 7, "name": "timeline-studio", "cpu_percent": 3.0,
                           "rss_bytes": 50 * 1024**2}],
           "editor_over_window": {
               "totals": {"editor_cpu_usage_percent": stats,
                          "editor_memory_rss_bytes": {**stats, "max": 2 * 1024**3}},
               "children_by_name": [{"name": "ffmpeg", "count": {**stats, "max": 2.0}}]}}
    editor = markdown_sections(summary_markdown({"processes.json": _j(doc)}, **TIMES))["Editor"]
    assert "timeline-studio (pid 7)" in editor
    assert "CPU avg 150% max 199%, memory max 2048 MB" in editor
    assert "ffmpeg (2)" in editor


def test_a_small_full_drive_shows_its_free_space_in_a_readable_unit() -> None:
    system = {"configured_drives": [
        {"path": "~/Videos/media", "roles": ["media_dir"], "percent": 97.7,
         "free_bytes": 98_304, "total_bytes": 4_194_304, "fstype": "tmpfs",
         "mountpoint": "~/Videos/media"},
        {"path": "/data", "roles": ["data_dir"], "percent": 24.5,
         "free_bytes": 82_250_928_128, "total_bytes": 270_553_174_016, "fstype": "ext4",
         "mountpoint": "/"}]}
    drives = markdown_sections(summary_markdown({"system.json": _j(system)}, **TIMES))[
        "Fullest drives"]
    assert "97.7% used, 96 KB free of 4.0 MB (tmpfs" in drives, drives
    assert "24.5% used, 76.6 GB free of 252.0 GB (ext4" in drives, drives

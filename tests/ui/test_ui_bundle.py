"""The tray's diagnostics bundle: preview before writing, progress while writing."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

from ui_support import make_config

from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime
from timeline_telemetry.ui.app import _RuntimeBundle
from timeline_telemetry.ui.bundle_dialog import BundleProgress, format_preview


def test_preview_lists_files_and_writes_nothing(
    runtime: AgentRuntime, tmp_path: Path, paths: AppPaths
) -> None:
    runtime.start()
    runtime.manager.collect_once()
    bundle = _RuntimeBundle(runtime, make_config(tmp_path), paths)  # type: ignore[arg-type]
    rows = bundle.preview()
    names = [n for n, _ in rows]
    assert "manifest.json" in names and "config.json" in names
    assert not list(paths.data_dir.glob("*.zip"))
    text = format_preview(rows)
    assert "manifest.json" in text and "files," in text


def test_write_reports_progress_and_writes_a_zip(
    runtime: AgentRuntime, tmp_path: Path, paths: AppPaths
) -> None:
    runtime.start()
    runtime.manager.collect_once()
    bundle = _RuntimeBundle(runtime, make_config(tmp_path), paths)  # type: ignore[arg-type]
    steps: list[float] = []
    out = tmp_path / "out"
    out.mkdir()
    path = bundle.write(out, lambda _step, f: steps.append(f))
    assert path.parent == out and zipfile.is_zipfile(path)
    assert steps and steps[-1] == 1.0


def test_the_trays_bundle_has_the_editors_spans_error_first(
    runtime: AgentRuntime, tmp_path: Path, paths: AppPaths
) -> None:
    import json
    import sys

    from opentelemetry.trace import Status, StatusCode

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
    from sdk_push import sdk_client

    runtime.start()
    receiver = runtime.manager.receiver
    assert receiver is not None
    client = sdk_client(receiver.endpoint)
    tracer = client.tracer_provider.get_tracer("timeline-studio")
    try:
        with tracer.start_as_current_span("export-timeline"), \
                tracer.start_as_current_span("encode") as span:
            span.set_status(Status(StatusCode.ERROR, "encoder crashed"))
    finally:
        client.shutdown()
    bundle = _RuntimeBundle(runtime, make_config(tmp_path), paths)  # type: ignore[arg-type]
    out = tmp_path / "out"
    out.mkdir()
    path = bundle.write(out, lambda _step, _f: None)
    with zipfile.ZipFile(path) as zf:
        spans = json.loads(zf.read("traces/store.json"))["spans"]
    assert [s["name"] for s in spans] == ["encode", "export-timeline"]
    assert spans[0]["status_message"] == "encoder crashed"


def test_progress_dialog_follows_the_worker_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    progress = BundleProgress()
    worker = threading.Thread(target=progress.report, args=("writing history.csv", 0.5))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: progress.dialog.value() == 50, timeout=5000)
    assert progress.dialog.labelText() == "writing history.csv"
    progress.finish()

"""The agent's rotating log file: JSON lines, level from config, ``detail`` adds DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from timeline_telemetry.logsetup import LOG_FILE_NAME, QuietRotatingFileHandler, configure_logging
from timeline_telemetry.paths import AppPaths


@pytest.fixture
def restore_logger() -> Iterator[None]:
    logger = logging.getLogger("timeline_telemetry")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    for h in handlers:
        logger.addHandler(h)
    logger.setLevel(level)
    logger.propagate = propagate


def _records(paths: AppPaths) -> list[dict[str, object]]:
    for h in logging.getLogger("timeline_telemetry").handlers:
        h.flush()
    return [json.loads(line) for line in
            (paths.log_dir / LOG_FILE_NAME).read_text().splitlines()]


@pytest.mark.usefixtures("restore_logger")
def test_json_lines_with_level_and_exception(tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    configure_logging(paths, "INFO")
    log = logging.getLogger("timeline_telemetry.test")
    log.debug("hidden")
    log.info("two\nlines", extra={"fields": {"exporter": "file"}})
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    recs = _records(paths)
    assert [r["msg"] for r in recs] == ["two\nlines", "failed"]
    assert recs[0]["level"] == "INFO" and recs[0]["exporter"] == "file"
    assert recs[0]["logger"] == "timeline_telemetry.test"
    assert "ValueError: bad" in str(recs[1]["exc"])


@pytest.mark.usefixtures("restore_logger")
def test_detail_writes_debug_to_the_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    configure_logging(paths, "WARNING", detail=True)
    logging.getLogger("timeline_telemetry.tracing").debug("span exported")
    assert [r["msg"] for r in _records(paths)] == ["span exported"]
    assert "span exported" not in capsys.readouterr().err


@pytest.mark.usefixtures("restore_logger")
def test_secrets_are_masked_in_the_file_and_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    configure_logging(paths, "INFO")
    log = logging.getLogger("timeline_telemetry.test")
    log.warning("exporter otlp: POST https://ed:%s@collector.example/v1 failed", "UrlPw-77")
    log.info("token=%s render done in 3.2 s", "Tok-Secret-78")
    recs = _records(paths)
    assert [r["msg"] for r in recs] == [
        "exporter otlp: POST https://***@collector.example/v1 failed",
        "token=*** render done in 3.2 s",
    ]
    err = capsys.readouterr().err
    assert "UrlPw-77" not in err and "Tok-Secret-78" not in err
    assert "render done in 3.2 s" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux /dev/full")
@pytest.mark.usefixtures("restore_logger")
def test_a_full_disk_is_reported_once_without_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    paths.log_dir.mkdir(parents=True)
    (paths.log_dir / LOG_FILE_NAME).symlink_to("/dev/full")  # every write: ENOSPC
    configure_logging(paths, "ERROR", detail=True)  # the file takes DEBUG, stderr ERROR only
    log = logging.getLogger("timeline_telemetry.test")
    for i in range(100):
        log.info("record %d", i)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert err.count("cannot write the log file") == 1
    assert "No space left on device" in err
    handler = next(h for h in logging.getLogger("timeline_telemetry").handlers
                   if isinstance(h, QuietRotatingFileHandler))
    assert handler.lost == 100


def test_file_errors_are_reported_again_after_the_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = [0.0]
    handler = QuietRotatingFileHandler(tmp_path / "a.log", max_bytes=1000, backups=1,
                                       clock=lambda: now[0])
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    try:
        for _ in range(30):
            try:
                raise OSError(28, "No space left on device")
            except OSError:
                handler.handleError(record)
            now[0] += 5.0
    finally:
        handler.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3  # at 0 s, 60 s and 120 s
    assert "(12 record(s) lost; 13 in all;" in lines[1]

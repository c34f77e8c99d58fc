"""The agent's rotating log file: JSON lines, level from config, ``detail`` adds DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from timeline_telemetry.logsetup import LOG_FILE_NAME, configure_logging
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

"""FileExporter on a full disk: a write that stops part-way never leaves a partial record in
front of the next one; errors are logged once a minute without tracebacks; writing resumes.

The failure is injected through the exporter's ``write`` service (``os.write`` semantics: a
short count, then ``ENOSPC``), so the file's real bytes are checked; one more test uses a real
64 KiB tmpfs where it may mount one (root with CAP_SYS_ADMIN), and skips elsewhere.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import sample_metrics
from timeline_telemetry.export.base import ExportResult, ExportState
from timeline_telemetry.export.file import (
    ERROR_LOG_INTERVAL_S,
    FileExporter,
    read_otlp_json_lines,
    rotated_files,
)
from timeline_telemetry.metrics.model import Snapshot

RESOURCE = {"service.name": "timeline-studio"}


class FillingDisk:
    """``os.write`` on a disk with ``free`` bytes left (None: unlimited): writes what fits,
    returns the short count, and raises ``error`` once nothing fits, as the kernel does."""

    def __init__(self, error: int = errno.ENOSPC) -> None:
        self.free: int | None = None
        self.error = error
        self.failures = 0

    def __call__(self, fd: int, data: memoryview) -> int:
        if self.free is None:
            return os.write(fd, data)
        if self.free <= 0:
            self.failures += 1
            raise OSError(self.error, os.strerror(self.error))
        n = os.write(fd, data[: self.free])
        self.free -= n
        return n


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(path: Path, disk: FillingDisk, clock: FakeClock | None = None,
         **kw: int) -> FileExporter:
    exp = FileExporter(path=path, resource=RESOURCE, start_time=1_700_000_000.0, write=disk,
                       clock=clock or FakeClock(), **kw)
    exp.start()
    return exp


def snapshot(i: int = 0) -> Snapshot:
    m = sample_metrics()
    m.set_gauge("queue_size", i, {"queue": "render"})
    return m.snapshot()


def assert_whole_records(path: Path) -> int:
    """Every line of ``path`` is complete JSON and the file ends with a newline (or is
    empty); how many lines."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"torn tail: {data[-80:]!r}"
    lines = data.split(b"\n")[:-1]
    for line in lines:
        json.loads(line)  # a partial record glued to the next one would not parse
    return len(lines)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO])
def test_a_write_failing_part_way_leaves_only_whole_records(tmp_path: Path, error: int) -> None:
    path = tmp_path / "metrics.jsonl"
    disk = FillingDisk(error)
    exp = make(path, disk)
    for i in range(3):
        assert exp.export(snapshot(i)) is ExportResult.SUCCESS
    good = path.read_bytes()

    disk.free = 100  # the next line (over 1 KB) stops after 100 bytes
    assert exp.export(snapshot(3)) is ExportResult.FAILURE
    assert path.read_bytes() == good  # the 100 bytes were truncated away at once
    assert exp.torn_bytes_removed == 100
    for _ in range(5):
        assert exp.export(snapshot(4)) is ExportResult.FAILURE
        assert path.read_bytes() == good
    status = exp.status()
    assert status.state is ExportState.FAILED
    assert os.strerror(error) in status.detail
    assert exp.errors == 6

    disk.free = None  # space is back: the next export writes, nothing to do by hand
    assert exp.export(snapshot(5)) is ExportResult.SUCCESS
    assert str(exp.status()) == "Healthy"
    assert assert_whole_records(path) == 4
    values = [r.resource_metrics[0].resource.attributes[0].value.string_value
              for r in read_otlp_json_lines(path)]
    assert values == ["timeline-studio"] * 4


def test_degraded_after_success_then_failed(tmp_path: Path) -> None:
    disk = FillingDisk()
    exp = make(tmp_path / "m.jsonl", disk)
    assert exp.export(snapshot()) is ExportResult.SUCCESS
    disk.free = 0
    states = []
    for _ in range(3):
        exp.export(snapshot())
        states.append(exp.status())
    assert [s.state for s in states] == [ExportState.DEGRADED, ExportState.DEGRADED,
                                        ExportState.FAILED]
    assert "No space left on device" in states[0].detail


def test_a_torn_tail_that_could_not_be_truncated_is_cut_before_the_next_line(
    tmp_path: Path,
) -> None:
    # as if the truncation after a failed write had failed too: the file ends mid-record
    path = tmp_path / "m.jsonl"
    exp = make(path, FillingDisk())
    assert exp.export(snapshot()) is ExportResult.SUCCESS
    with open(path, "ab") as f:
        f.write(b'{"resourceMetrics":[{"resou')
    assert exp.export(snapshot(1)) is ExportResult.SUCCESS
    assert assert_whole_records(path) == 2
    assert exp.torn_bytes_removed == len(b'{"resourceMetrics":[{"resou')


def test_errors_are_logged_once_a_minute_with_counts_and_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    disk = FillingDisk()
    clock = FakeClock()
    exp = make(tmp_path / "m.jsonl", disk, clock)
    caplog.set_level(logging.INFO, logger="timeline_telemetry.export.file")
    assert exp.export(snapshot()) is ExportResult.SUCCESS
    disk.free = 10
    for _ in range(100):  # 100 failed exports over 99 s (the campaign saw 100 in 35 s)
        assert exp.export(snapshot()) is ExportResult.FAILURE
        clock.now += 1.0
    records = [r for r in caplog.records if r.name == "timeline_telemetry.export.file"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # at 0 s and at 60 s
    assert all(r.exc_info is None for r in records)
    assert "No space left on device" in warnings[0].getMessage()
    assert f"60 failed writes in the last {ERROR_LOG_INTERVAL_S:.0f} s" in \
        warnings[1].getMessage()
    assert "61 since the last success" in warnings[1].getMessage()

    caplog.clear()
    disk.free = None
    assert exp.export(snapshot()) is ExportResult.SUCCESS
    assert [r.getMessage() for r in caplog.records] == [
        f"writing to {exp.path} again after 100 failed writes"]
    assert exp.errors == 100


def test_rotation_keeps_working_through_failures(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    disk = FillingDisk()
    exp = make(path, disk, max_bytes=4000, backups=2)
    for i in range(40):
        # every third write stops part-way, the others go through
        disk.free = 50 if i % 3 == 2 else None
        exp.export(snapshot(i))
    disk.free = None
    assert exp.export(snapshot(99)) is ExportResult.SUCCESS
    assert exp.rotations >= 3
    files = rotated_files(path, 2)
    assert len(files) == 3
    for f in files:
        assert assert_whole_records(f) >= 1
        assert f.stat().st_size <= 4000


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, or a skip where this process may not mount one."""
    where = tmp_path / "tiny"
    where.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                          capture_output=True, check=False, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False, timeout=10)


def test_a_real_full_filesystem(tiny_tmpfs: Path) -> None:
    path = tiny_tmpfs / "m.jsonl"
    exp = FileExporter(path=path, resource=RESOURCE, start_time=1_700_000_000.0,
                       max_bytes=10 * 1024 * 1024)
    exp.start()
    results = [exp.export(snapshot(i)) for i in range(200)]  # ~1 KB a line: fills 64 KiB
    assert ExportResult.FAILURE in results
    assert exp.status().state is not ExportState.HEALTHY
    written = assert_whole_records(path)
    assert written == results.count(ExportResult.SUCCESS)

    # space returns (half the file dropped), and the next export simply writes
    data = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(data[len(data) // 2:]))
    assert exp.export(snapshot(500)) is ExportResult.SUCCESS
    assert str(exp.status()) == "Healthy"
    assert_whole_records(path)

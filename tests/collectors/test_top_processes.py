"""The top-processes recorder with an injected process source and clocks: CPU % from
``cpu_times`` deltas, pid reuse, the ring's bounds, and the saved ring read back."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from timeline_telemetry.collectors.top_processes import (
    MAX_SAMPLES,
    ProcessRow,
    ProcStat,
    TopProcessesRecorder,
    psutil_source,
    read_saved,
)


class FakeMachine:
    """A process table and two clocks the test moves by hand."""

    def __init__(self) -> None:
        self.procs: dict[int, ProcStat] = {}
        self.wall = 1_700_000_000.0
        self.mono = 100.0

    def run(self, pid: int, name: str, *, cpu_s: float = 0.0, rss: int = 1000,
            created: float | None = None) -> None:
        self.procs[pid] = ProcStat(pid, self.wall if created is None else created, name,
                                   cpu_s, rss)

    def burn(self, pid: int, cpu_s: float, *, rss: int | None = None) -> None:
        p = self.procs[pid]
        self.procs[pid] = ProcStat(p.pid, p.create_time, p.name, p.cpu_s + cpu_s,
                                   p.rss_bytes if rss is None else rss)

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def recorder(self, *, interval_s: float = 30.0, keep_s: float = 7200.0,
                 top: int = 5) -> TopProcessesRecorder:
        return TopProcessesRecorder(source=lambda: list(self.procs.values()),
                                    clock=lambda: self.wall, monotonic=lambda: self.mono,
                                    interval_s=interval_s, keep_s=keep_s, top=top)


def _cpu(rows: tuple[ProcessRow, ...]) -> dict[int, float | None]:
    return {r.pid: r.cpu_percent for r in rows}


def test_cpu_percent_comes_from_the_delta_between_samples() -> None:
    m = FakeMachine()
    m.run(1, "idle", cpu_s=500.0, created=m.wall - 3600)
    m.run(2, "hog", cpu_s=10.0, created=m.wall - 60, rss=50)
    rec = m.recorder(interval_s=30.0)
    first = rec.sample()
    assert first.by_cpu == ()  # no baseline yet: the first sample only sets it
    assert [r.pid for r in first.by_rss] == [1, 2]
    m.tick(30.0)
    m.burn(2, 27.0)  # 90 % of one core over 30 s
    m.burn(1, 0.3)  # 1 %
    second = rec.sample()
    assert _cpu(second.by_cpu) == pytest.approx({2: 90.0, 1: 1.0})
    assert second.by_cpu[0].name == "hog"
    assert second.at == m.wall and second.process_count == 2


def test_a_reused_pid_does_not_inherit_the_old_baseline() -> None:
    m = FakeMachine()
    m.run(7, "old", cpu_s=1000.0, created=m.wall - 3600)
    rec = m.recorder()
    rec.sample()
    m.tick(10.0)
    # pid 7 exited and was reused 5 s ago by a process that used 2.5 s of CPU since
    m.run(7, "new", cpu_s=2.5, created=m.wall - 5.0)
    sample = rec.sample()
    assert [(r.pid, r.name) for r in sample.by_cpu] == [(7, "new")]
    assert sample.by_cpu[0].cpu_percent == pytest.approx(50.0)


def test_a_process_started_between_samples_is_credited_since_it_started() -> None:
    m = FakeMachine()
    m.run(1, "init", created=m.wall - 3600)
    rec = m.recorder()
    rec.sample()
    m.tick(30.0)
    m.run(9, "ffmpeg", cpu_s=9.0, created=m.wall - 10.0)  # 90 % over its 10 s of life
    assert _cpu(rec.sample().by_cpu)[9] == pytest.approx(90.0)


def test_top_n_and_the_ring_are_bounded() -> None:
    m = FakeMachine()
    for pid in range(1, 21):
        m.run(pid, f"p{pid}", rss=pid * 100, created=m.wall - 100)
    rec = m.recorder(interval_s=30.0, keep_s=300.0, top=3)
    for _ in range(40):
        for pid in range(1, 21):
            m.burn(pid, pid * 0.1)
        rec.sample()
        m.tick(30.0)
    last = rec.samples()[-1]
    assert [r.pid for r in last.by_cpu] == [20, 19, 18]
    assert [r.pid for r in last.by_rss] == [20, 19, 18]
    kept = rec.samples()
    assert len(kept) == len(rec) <= 12  # 300 s at 30 s, by count and by age
    assert kept[0].at >= last.at - 300.0
    assert rec.samples(since=last.at - 60.0) == kept[-3:]
    tiny = m.recorder(interval_s=0.001, keep_s=7200.0)
    for _ in range(MAX_SAMPLES + 50):
        tiny.sample()
    assert len(tiny) == MAX_SAMPLES  # a tiny interval never grows it past the cap


def test_the_saved_ring_is_read_back_and_bad_files_are_tolerated(tmp_path: Path) -> None:
    m = FakeMachine()
    m.run(1, "a", created=m.wall - 100)
    m.run(2, "b", created=m.wall - 100, rss=99)
    rec = m.recorder(keep_s=3600.0)
    for _ in range(5):
        m.burn(2, 3.0)
        rec.sample()
        m.tick(30.0)
    path = tmp_path / "data" / "top-processes.json"
    assert rec.save(path) == 5
    again = m.recorder(keep_s=3600.0)
    assert again.load(path) == 5
    assert again.samples() == rec.samples()
    assert again.to_json(fmt_time=str)["samples"] == rec.to_json(fmt_time=str)["samples"]

    # Older than keep_s at load: dropped; a size bound at save keeps the newest.
    m.tick(3600.0 - 60.0)
    late = m.recorder(keep_s=3600.0)
    assert late.load(path) == len([s for s in rec.samples() if s.at >= m.wall - 3600.0]) < 5
    assert rec.save(path, max_bytes=300) < 5
    assert read_saved(path)[-1] == rec.samples()[-1]

    for bad in (b"", b"{not json", b'{"v": 99, "samples": []}', b"\x00\xff" * 10):
        path.write_bytes(bad)
        assert m.recorder().load(path) == 0
    path.write_text(json.dumps({"v": 1, "samples": [{"at": "x"}, {"at": m.wall, "n": 1,
                                                                   "cpu": [], "rss": []}]}))
    assert m.recorder().load(path) == 1  # the corrupt sample skipped, the good one kept
    assert m.recorder().load(tmp_path / "missing.json") == 0
    path.write_bytes(b" " * 2000)
    assert m.recorder().load(path, max_bytes=1000) == 0  # oversized: ignored


def test_the_psutil_source_lists_this_process() -> None:
    me = psutil.Process()
    found = [p for p in psutil_source()() if p.pid == me.pid]
    assert len(found) == 1
    assert found[0].create_time == me.create_time() and found[0].rss_bytes > 0

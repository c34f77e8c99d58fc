"""No stale series: through ``TelemetryManager.collect_once``, the series of processes, devices,
cores and mounts that went away leave the snapshot (counts read 0 first), a collector that
stops reporting a family loses it, and a failed run keeps the last values for a while."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import psutil
import pytest
from collector_helpers import FakeEditor, FakeNvml, ManualClock

from timeline_telemetry.collectors.agent import AgentCollector
from timeline_telemetry.collectors.base import Collector, Sample
from timeline_telemetry.collectors.editor import GONE_CHILD_HOLD_S, EditorProcessCollector
from timeline_telemetry.collectors.gpu import NvidiaGpuCollector
from timeline_telemetry.collectors.system import SystemCollector
from timeline_telemetry.config import parse_config
from timeline_telemetry.manager import STALE_AFTER_FAILURES, TelemetryManager
from timeline_telemetry.metrics.model import Labels, Snapshot
from timeline_telemetry.paths import AppPaths

Series = dict[Labels, float]


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Any]:
    """A started manager (no exporters) over the collectors the test passes to ``start``."""
    started: list[TelemetryManager] = []

    def start(*collectors: Collector) -> TelemetryManager:
        cfg = parse_config(
            {"telemetry": {"metrics": {"collection_interval": "1h", "exporters": []},
                           "editor": {"process_names": ["no-such-editor-xyz"]},
                           "ingest": {"otlp": {"enabled": False}}}},
            source="test", base_dir=tmp_path,
        )
        paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "home")})
        mgr = TelemetryManager(cfg, paths=paths, collectors=list(collectors))
        mgr.initialize()
        started.append(mgr)
        return mgr

    yield start
    for mgr in started:
        mgr.shutdown()


def series(snap: Snapshot, name: str) -> Series:
    return {s.labels: float(s.value) for s in snap.flat_samples() if s.name == name}


def families(snap: Snapshot) -> set[str]:
    return {s.name for s in snap.flat_samples()}


# -- editor and its children ----------------------------------------------------------------
def test_editor_children_then_editor_exit_leave_no_stale_series(
    manager: Any, fake_editor: FakeEditor, clock: ManualClock
) -> None:
    """The issue's case, end to end: ffmpeg x2 exit, then the editor."""
    col = EditorProcessCollector(process_names=["timeline-studio"], rescan_interval=3600,
                                 clock=clock, pid_diff=True)
    mgr = manager(col)
    kids = [fake_editor.spawn("ffmpeg"), fake_editor.spawn("ffmpeg")]
    snap = mgr.collect_once()
    assert series(snap, "editor_child_processes") == {(("name", "ffmpeg"),): 2.0}
    assert len(series(snap, "editor_uptime_seconds")) == 1
    assert series(snap, "editor_up") == {(): 1.0}

    for kid in kids:
        os.kill(kid, signal.SIGKILL)
        fake_editor.reap(kid)
    fake_editor.kill()
    clock.advance(10)
    snap = mgr.collect_once()
    assert series(snap, "editor_child_processes") == {(("name", "ffmpeg"),): 0.0}
    assert series(snap, "editor_uptime_seconds") == {}
    assert series(snap, "editor_up") == {(): 0.0}
    assert series(snap, "editor_processes") == {
        (("role", "child"),): 0.0, (("role", "main"),): 0.0
    }
    assert series(snap, "editor_memory_rss_bytes") == {(): 0.0}

    clock.advance(GONE_CHILD_HOLD_S)
    snap = mgr.collect_once()
    assert "editor_child_processes" not in families(snap)
    assert series(snap, "editor_up") == {(): 0.0}


# -- system: cores and mounts ---------------------------------------------------------------
class Cpu(NamedTuple):
    user: float
    system: float
    idle: float


class ScriptedCpus:
    """Real psutil, except ``cpu_times`` over ``cores`` cores, each 50 % busy, one more
    second per call."""

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.t = 0.0

    def cpu_times(self, percpu: bool = False) -> Any:
        self.t += 1.0
        per = [Cpu(self.t / 2, 0.0, self.t / 2) for _ in range(self.cores)]
        return per if percpu else Cpu(sum(c.user for c in per), 0.0, sum(c.idle for c in per))

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)


def test_a_core_going_offline_and_a_mount_going_away_leave_the_snapshot(
    manager: Any, tmp_path: Path, clock: ManualClock
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    ps = ScriptedCpus(cores=4)
    col = SystemCollector(psutil_module=ps, disk_paths=[str(media)],  # type: ignore[arg-type]
                          clock=clock, resolve_interval=60)
    mgr = manager(col)
    snap = mgr.collect_once()
    assert set(series(snap, "system_cpu_core_usage_percent")) == {
        (("cpu", str(i)),) for i in range(4)
    }
    assert len(series(snap, "system_disk_total_bytes")) == 1

    ps.cores = 3  # cpu3 offline: the meters start over, then three cores read again
    media.rmdir()  # the watched folder (its drive, say) is gone
    clock.advance(60)
    mgr.collect_once()
    snap = mgr.collect_once()
    assert set(series(snap, "system_cpu_core_usage_percent")) == {
        (("cpu", str(i)),) for i in range(3)
    }
    for family in ("system_disk_usage_bytes", "system_disk_available_bytes",
                   "system_disk_total_bytes"):
        assert family not in families(snap), family
    assert series(snap, "system_memory_total_bytes")  # the rest is still there


class UnreadableMount:
    """Real psutil, except ``disk_usage`` fails for the paths in ``broken`` (unplugged)."""

    def __init__(self) -> None:
        self.broken: set[str] = set()

    def disk_usage(self, path: str) -> Any:
        if path in self.broken:
            raise OSError(5, "Input/output error", path)
        return psutil.disk_usage(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)


def test_a_mount_that_cannot_be_read_any_more_loses_its_series(
    manager: Any, tmp_path: Path
) -> None:
    ps = UnreadableMount()
    col = SystemCollector(psutil_module=ps, disk_paths=[str(tmp_path)])  # type: ignore[arg-type]
    mgr = manager(col)
    (mount,) = series(mgr.collect_once(), "system_disk_total_bytes")
    ps.broken.add(dict(mount)["mountpoint"])
    snap = mgr.collect_once()
    assert "system_disk_total_bytes" not in families(snap)
    assert series(snap, "system_memory_total_bytes")


# -- GPU ----------------------------------------------------------------------------------------
def test_a_lost_gpu_leaves_and_a_dead_driver_keeps_values_then_clears(manager: Any) -> None:
    nvml = FakeNvml()
    mgr = manager(NvidiaGpuCollector(nvml_module=nvml))
    snap = mgr.collect_once()
    assert {dict(k)["gpu"] for k in series(snap, "gpu_temperature_celsius")} == {"0", "1"}
    reported = NvidiaGpuCollector.families & families(snap)  # the stand-in has no process calls

    nvml.broken = {("*", 1)}  # GPU 1 fell off the bus: every query of it fails
    snap = mgr.collect_once()
    for family in reported:
        assert {dict(k)["gpu"] for k in series(snap, family)} == {"0"}, family

    nvml.broken = {("*", 0), ("*", 1)}  # the driver is gone: collect() raises
    for failed in range(1, STALE_AFTER_FAILURES):
        snap = mgr.collect_once()  # a transient failure keeps the last values...
        assert series(snap, "gpu_temperature_celsius") == {
            (("gpu", "0"), ("name", "NVIDIA RTX A4000")): 60.0
        }
        assert series(snap, "telemetry_collector_errors_total") == {
            (("collector", "gpu"),): float(failed)
        }
    snap = mgr.collect_once()  # ...one that lasts does not freeze them
    assert not families(snap) & NvidiaGpuCollector.families
    assert series(snap, "telemetry_collector_errors_total") == {
        (("collector", "gpu"),): float(STALE_AFTER_FAILURES)
    }

    nvml.broken = set()  # back: every series again, and the failure streak is over
    snap = mgr.collect_once()
    assert len(series(snap, "gpu_utilization_percent")) == 2
    nvml.broken = {("*", 0), ("*", 1)}
    assert len(series(mgr.collect_once(), "gpu_utilization_percent")) == 2


# -- agent ------------------------------------------------------------------------------------
def test_agent_process_gone_keeps_values_then_clears(manager: Any) -> None:
    code = "import sys; print('ready', flush=True); sys.stdin.read()"
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        mgr = manager(AgentCollector(pid=child.pid))
        snap = mgr.collect_once()
        rss = series(snap, "telemetry_agent_memory_rss_bytes")
        assert rss[()] > 1_000_000
        child.kill()
        child.wait()
    for _ in range(STALE_AFTER_FAILURES - 1):
        assert series(mgr.collect_once(), "telemetry_agent_memory_rss_bytes") == rss
    snap = mgr.collect_once()
    assert not families(snap) & AgentCollector.families


# -- any collector --------------------------------------------------------------------------
class Scripted:
    """Reports what the test puts in ``samples``; declares ``declared``."""

    name = "scripted"

    def __init__(self, declared: frozenset[str]) -> None:
        self.families = declared
        self.samples: list[Sample] = []

    def collect(self) -> Sequence[Sample]:
        return list(self.samples)

    def close(self) -> None:
        pass


def test_a_family_with_no_sample_this_run_is_emptied(manager: Any) -> None:
    col = Scripted(frozenset({"queue_size"}))
    mgr = manager(col)
    col.samples = [Sample("queue_size", 3, (("queue", "render"),)),
                   Sample("undeclared_thing", 1)]
    snap = mgr.collect_once()
    assert series(snap, "queue_size") == {(("queue", "render"),): 3.0}
    assert series(snap, "undeclared_thing") == {(): 1.0}
    col.samples = []
    snap = mgr.collect_once()
    # Declared or only ever reported: both are the collector's, both are replaced.
    assert "queue_size" not in families(snap)
    assert "undeclared_thing" not in families(snap)


def test_every_collector_reports_only_families_it_declares(
    fake_editor: FakeEditor, tmp_path: Path
) -> None:
    fake_editor.spawn("ffmpeg")
    cols: list[Collector] = [
        SystemCollector(disk_paths=[str(tmp_path)]),
        EditorProcessCollector(process_names=["timeline-studio"], rescan_interval=60),
        NvidiaGpuCollector(nvml_module=FakeNvml()),
        AgentCollector(),
    ]
    for col in cols:
        assert isinstance(col, Collector)
        reported = {s.name for s in col.collect()}
        assert reported and reported <= col.families, (col.name, reported - col.families)
        col.close()

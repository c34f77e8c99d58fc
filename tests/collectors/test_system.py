"""The system collector on this machine's real psutil (and scripted sources where the real
machine cannot produce the case: an interface vanishing, no disk statistics)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import psutil
import pytest
from collector_helpers import ManualClock, assert_catalogued, series, value

from support import wait_for
from timeline_telemetry.collectors.mounts import mount_point_of
from timeline_telemetry.collectors.system import SystemCollector

MOUNT_FAMILIES = ("system_disk_usage_bytes", "system_disk_available_bytes",
                  "system_disk_total_bytes")


def burn(seconds: float) -> None:
    """Use ``seconds`` of CPU in this process (measured, not timed)."""
    me = psutil.Process()
    start = me.cpu_times().user
    deadline = time.monotonic() + 30
    while me.cpu_times().user - start < seconds:  # busy on purpose
        assert time.monotonic() < deadline, "could not get CPU time"


def with_cpu(col: SystemCollector, cores: int | None = None) -> list[Any]:
    """Collect until the first CPU window has passed (about 0.5 s of wall time), for the
    machine and for every core (each core has its own window)."""
    want = psutil.cpu_count() if cores is None else cores

    def probe() -> list[Any] | None:
        s = list(col.collect())
        total = series(s, "system_cpu_usage_percent")
        return s if total and len(series(s, "system_cpu_core_usage_percent")) == want else None
    return wait_for(probe, timeout=30, what="a CPU reading")


def test_reports_every_system_family_from_real_psutil(tmp_path: Path) -> None:
    col = SystemCollector(disk_paths=[str(tmp_path)])
    s = with_cpu(col)
    assert_catalogued(s)
    assert 0 <= value(s, "system_cpu_usage_percent") <= 100
    cores = series(s, "system_cpu_core_usage_percent")
    assert set(cores) == {(("cpu", str(i)),) for i in range(psutil.cpu_count())}
    assert all(0 <= v <= 100 for v in cores.values())
    total = value(s, "system_memory_total_bytes")
    assert total == psutil.virtual_memory().total
    used = value(s, "system_memory_usage_bytes")
    assert used + value(s, "system_memory_available_bytes") == total
    assert value(s, "system_swap_total_bytes") >= value(s, "system_swap_usage_bytes") >= 0
    assert set(series(s, "system_load_average")) == {
        (("period", "1m"),), (("period", "5m"),), (("period", "15m"),)
    }
    assert value(s, "system_network_bytes_received_total") > 0
    assert value(s, "system_disk_read_bytes_total") > 0
    assert value(s, "system_disk_reads_total") > 0
    assert value(s, "system_disk_read_time_seconds_total") >= 0
    # Per-device series beside the totals, each labelled with its device only.
    for family in ("system_disk_device_read_bytes_total",
                   "system_disk_device_read_time_seconds_total"):
        for labels in series(s, family):
            assert [k for k, _ in labels] == ["device"], (family, labels)
    mount = mount_point_of(str(tmp_path))
    assert value(s, "system_disk_total_bytes", mountpoint=mount) == psutil.disk_usage(mount).total


def test_cpu_percent_follows_load_and_totals_only_grow(tmp_path: Path) -> None:
    col = SystemCollector(disk_paths=[str(tmp_path)])
    first = col.collect()
    burn(0.4)  # one core busy for the whole window
    second = col.collect()
    busy = value(second, "system_cpu_usage_percent")
    assert busy > 100 / psutil.cpu_count() * 0.6
    assert sum(series(second, "system_cpu_core_usage_percent").values()) > 60  # summed: the
    # busy thread may move between cores
    (tmp_path / "f").write_bytes(os.urandom(1 << 16))
    third = col.collect()
    for name in ("system_network_bytes_sent_total", "system_network_bytes_received_total",
                 "system_disk_written_bytes_total", "system_disk_writes_total"):
        assert value(first, name) <= value(second, name) <= value(third, name), name


def test_no_cpu_figure_until_there_is_a_window_to_measure() -> None:
    """Right after construction the only figure would be the average since boot, which is
    not "now": nothing is reported (the other families are) until a real window."""
    col = SystemCollector(disk_paths=["/"])
    s = col.collect()
    assert series(s, "system_cpu_usage_percent") == {}
    assert series(s, "system_cpu_core_usage_percent") == {}
    assert value(s, "system_memory_total_bytes") > 0
    s = with_cpu(col)
    assert 0 <= value(s, "system_cpu_usage_percent") <= 100
    assert len(series(s, "system_cpu_core_usage_percent")) == psutil.cpu_count()


def test_per_cpu_off_reports_only_the_machine_figure() -> None:
    s = with_cpu(SystemCollector(disk_paths=["/"], per_cpu=False), cores=0)
    assert series(s, "system_cpu_core_usage_percent") == {}
    assert 0 <= value(s, "system_cpu_usage_percent") <= 100


def test_paths_on_one_mount_give_one_series(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "media")
    paths = [str(tmp_path / "media"), str(tmp_path / "cache"), str(tmp_path / "link")]
    s = SystemCollector(disk_paths=paths).collect()
    mount = mount_point_of(str(tmp_path))
    for family in MOUNT_FAMILIES:
        assert list(series(s, family)) == [(("mountpoint", mount),)], family


@pytest.mark.skipif(not os.path.ismount("/dev/shm"), reason="needs /dev/shm mounted")
def test_each_mount_gets_its_own_series(tmp_path: Path) -> None:
    s = SystemCollector(disk_paths=[str(tmp_path), "/dev/shm"]).collect()
    assert set(series(s, "system_disk_total_bytes")) == {
        (("mountpoint", mount_point_of(str(tmp_path))),), (("mountpoint", "/dev/shm"),)
    }
    assert value(s, "system_disk_total_bytes", mountpoint="/dev/shm") == (
        psutil.disk_usage("/dev/shm").total
    )


def test_missing_path_is_skipped_with_one_warning_and_picked_up_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    media = tmp_path / "not-yet" / "media"
    col = SystemCollector(disk_paths=[str(media)], clock=clock, resolve_interval=60)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            s = col.collect()
            assert series(s, "system_disk_usage_bytes") == {}
            clock.advance(60)
    warnings = [r for r in caplog.records if str(media) in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    media.mkdir(parents=True)
    clock.advance(60)
    s = col.collect()
    assert list(series(s, "system_disk_usage_bytes")) == [
        (("mountpoint", mount_point_of(str(tmp_path))),)
    ]


def test_default_disk_is_the_root() -> None:
    s = SystemCollector().collect()
    assert list(series(s, "system_disk_total_bytes")) == [
        (("mountpoint", os.path.abspath(os.sep)),)
    ]


class ScriptedPsutil:
    """Real psutil except for the network and disk-I/O counters, which follow a script."""

    def __init__(self) -> None:
        self.nics: dict[str, Any] = {}
        self.disks: dict[str, Any] = {}

    def net_io_counters(self, pernic: bool = False, nowrap: bool = True) -> dict[str, Any]:
        assert pernic
        return self.nics

    def disk_io_counters(self, perdisk: bool = False, nowrap: bool = True) -> Any:
        assert perdisk, "the totals come from the per-disk read"
        return self.disks

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)


class Nic(NamedTuple):
    bytes_sent: int
    bytes_recv: int


def nic(sent: int, recv: int) -> Nic:
    return Nic(sent, recv)


def test_network_totals_skip_loopback_and_survive_vanishing_interfaces() -> None:
    ps = ScriptedPsutil()
    col = SystemCollector(psutil_module=ps, disk_paths=["/"])  # type: ignore[arg-type]

    def totals() -> tuple[float, float]:
        s = col.collect()
        return (value(s, "system_network_bytes_sent_total"),
                value(s, "system_network_bytes_received_total"))

    ps.nics = {"lo": nic(10_000, 10_000), "eth0": nic(100, 200),
               "Loopback Pseudo-Interface 1": nic(5_000, 5_000)}
    assert totals() == (100, 200)
    ps.nics = {"lo": nic(20_000, 20_000), "eth0": nic(150, 260), "docker0": nic(10, 20)}
    assert totals() == (160, 280)
    ps.nics = {"lo": nic(30_000, 30_000), "docker0": nic(15, 20)}  # eth0 unplugged
    assert totals() == (165, 280)
    ps.nics = {"eth0": nic(5, 7), "docker0": nic(15, 20)}  # re-created: counts from 0
    assert totals() == (170, 287)


def test_no_disk_statistics_means_no_disk_io_series() -> None:
    ps = ScriptedPsutil()
    ps.disks = {}
    s = SystemCollector(psutil_module=ps, disk_paths=["/"]).collect()  # type: ignore[arg-type]
    assert series(s, "system_disk_read_bytes_total") == {}
    assert value(s, "system_memory_total_bytes") > 0


def test_collect_is_cheap(tmp_path: Path) -> None:
    col = SystemCollector(disk_paths=[str(tmp_path), "/"])
    col.collect()
    start = time.perf_counter()
    for _ in range(20):
        col.collect()
    assert (time.perf_counter() - start) / 20 < 0.05  # generous: ~1 ms here


class Disk(NamedTuple):
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int
    read_time: int  # milliseconds, as psutil reports them
    write_time: int


def test_per_device_counters_skip_virtual_devices_and_partitions() -> None:
    ps = ScriptedPsutil()
    ps.disks = {"sda": Disk(10, 20, 1000, 2000, 500, 1250), "sda1": Disk(1, 1, 1, 1, 1, 1),
                "nvme0n1": Disk(20, 20, 2000, 2000, 1000, 1250), "loop3": Disk(5, 0, 5, 0, 5, 0)}
    ps.nics = {"lo": nic(1, 1), "eth0": nic(100, 200), "wlan0": nic(5, 6),
               "veth12ab": nic(7, 8), "docker0": nic(9, 10)}
    col = SystemCollector(psutil_module=ps, disk_paths=["/"],  # type: ignore[arg-type]
                          sys_block=lambda: frozenset({"sda", "nvme0n1", "loop3"}))
    s = col.collect()
    assert_catalogued(s)
    # the totals add up what psutil's would: the disks under /sys/block (loop3 too, not sda1)
    assert value(s, "system_disk_read_time_seconds_total") == 1.505
    assert value(s, "system_disk_write_time_seconds_total") == 2.5
    assert value(s, "system_disk_reads_total") == 35
    assert series(s, "system_disk_device_read_time_seconds_total") == {
        (("device", "nvme0n1"),): 1.0, (("device", "sda"),): 0.5}
    assert value(s, "system_disk_device_write_time_seconds_total", device="sda") == 1.25
    assert value(s, "system_disk_device_reads_total", device="sda") == 10
    assert value(s, "system_disk_device_written_bytes_total", device="nvme0n1") == 2000
    assert series(s, "system_network_device_bytes_sent_total") == {
        (("device", "eth0"),): 100.0, (("device", "wlan0"),): 5.0}
    assert value(s, "system_network_device_bytes_received_total", device="wlan0") == 6
    # The totals still count every non-loopback interface.
    assert value(s, "system_network_bytes_sent_total") == 100 + 5 + 7 + 9


def test_device_series_are_capped_and_the_rest_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ps = ScriptedPsutil()
    ps.disks = {f"sd{c}": Disk(1, 1, 1, 1, 1, 1) for c in "abcde"}
    ps.nics = {f"eth{i}": nic(i, i) for i in range(5)}
    col = SystemCollector(psutil_module=ps, disk_paths=["/"],  # type: ignore[arg-type]
                          sys_block=lambda: None, max_devices=3)
    with caplog.at_level(logging.WARNING):
        s = col.collect()
        col.collect()
    assert set(series(s, "system_disk_device_reads_total")) == {
        (("device", d),) for d in ("sda", "sdb", "sdc")}
    assert len(series(s, "system_network_device_bytes_sent_total")) == 3
    assert value(s, "system_network_bytes_sent_total") == sum(range(5))
    said = [r.getMessage() for r in caplog.records if "per-device" in r.getMessage()]
    assert len(said) == 2 and any("sdd, sde" in m for m in said), said
    assert col.devices_skipped == 8  # two runs, two over the cap of each kind


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="Linux only")
def test_one_meminfo_read_gives_psutils_memory_and_swap_figures() -> None:
    from timeline_telemetry.collectors.system import _read_meminfo

    fields = _read_meminfo()
    assert fields is not None
    total, available, swap_total, swap_free = fields
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    assert (total, swap_total) == (vm.total, sw.total)
    assert abs(available - vm.available) < 64 * 2**20  # read a moment apart
    assert abs((swap_total - swap_free) - sw.used) < 64 * 2**20
    s = SystemCollector(disk_paths=["/"]).collect()
    assert value(s, "system_memory_total_bytes") == vm.total

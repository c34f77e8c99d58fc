"""Machine-wide CPU, memory, swap, load, disk space, disk I/O and network totals (psutil).

Cumulative figures are Prometheus counters (``..._total``): the machine-wide totals keep the
design document's family names, and beside them per-device series labelled ``device`` let a
user see which disk or interface is busy, and ``rate(..._time_seconds_total) /
rate(..._reads_total)`` gives the disk latency that node_exporter users expect.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import psutil

from timeline_telemetry.metrics.model import Labels

from .base import Sample
from .mounts import MountResolver

__all__ = ["SystemCollector"]

_log = logging.getLogger(__name__)

#: Loopback interface names: ``lo`` (Linux), ``lo0`` (macOS/BSD), "Loopback Pseudo-Interface 1"
#: (Windows). Matching by name avoids a per-run ``net_if_addrs`` call.
_LOOPBACK = re.compile(r"^lo\d*$|loopback", re.IGNORECASE)

#: Interfaces that only carry traffic already counted on a real one (container veth pairs,
#: bridges, VM taps): they get no per-device series, which would double the picture and grow
#: with every container started. They still count in the machine totals, as before.
_VIRTUAL_NIC = re.compile(
    r"^(veth|docker|br-|virbr|vnet|vmnet|cali|flannel|cni|tap|tun|kube|lxc|lxd|podman|vboxnet)",
    re.IGNORECASE,
)

#: Block devices that are not disks (loop mounts of snaps and images, RAM disks, optical
#: drives): no per-device series. Partitions are left out where the OS says what a whole
#: disk is (``/sys/block`` on Linux), since a disk's figures already include them.
_VIRTUAL_DISK = re.compile(r"^(loop|ram|zram|sr|fd)\d", re.IGNORECASE)

#: At most this many devices of each kind get their own series; the rest (named in one
#: warning, counted in the skip count) stay in the totals only. Keeps a machine with many
#: disks or containers from producing unbounded series.
MAX_DEVICES = 16

#: Shortest CPU-time window (seconds per core) a CPU % is computed over.
_MIN_WINDOW = 0.1

_DISK_IO_TOTALS = (
    ("system_disk_read_bytes_total", "read_bytes"),
    ("system_disk_written_bytes_total", "write_bytes"),
    ("system_disk_reads_total", "read_count"),
    ("system_disk_writes_total", "write_count"),
)

_DISK_TIME_TOTALS = (
    ("system_disk_read_time_seconds_total", "read_time"),
    ("system_disk_write_time_seconds_total", "write_time"),
)

#: Per-block-device families and the psutil field; ``*_time`` fields are milliseconds.
_DISK_DEVICE = (
    ("system_disk_device_read_bytes_total", "read_bytes"),
    ("system_disk_device_written_bytes_total", "write_bytes"),
    ("system_disk_device_reads_total", "read_count"),
    ("system_disk_device_writes_total", "write_count"),
    ("system_disk_device_read_time_seconds_total", "read_time"),
    ("system_disk_device_write_time_seconds_total", "write_time"),
)

_NET_DEVICE = (
    ("system_network_device_bytes_sent_total", "bytes_sent"),
    ("system_network_device_bytes_received_total", "bytes_recv"),
)

#: Per-mount families: a mount that goes away (or can no longer be read) leaves all three.
_MOUNT_FAMILIES = (
    "system_disk_usage_bytes",
    "system_disk_available_bytes",
    "system_disk_total_bytes",
)


class _CpuTicks(NamedTuple):
    busy: float
    total: float


def _ticks(times: Any) -> _CpuTicks:
    """Busy and total seconds of one ``cpu_times`` tuple, computed as psutil's ``cpu_percent``.

    On Linux ``guest`` time is already part of ``user`` (and ``guest_nice`` of ``nice``), so it
    is taken out of the total; ``iowait`` counts as idle.
    """
    total = float(sum(times))
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = float(times.idle) + getattr(times, "iowait", 0.0)
    return _CpuTicks(total - idle, total)


class _CpuMeter:
    """Busy % between two readings of the same cumulative CPU times.

    Own state instead of ``psutil.cpu_percent(interval=None)``, whose baseline is shared by
    every caller in the process. A reading needs at least ``min_window`` seconds of CPU time
    (idle included) since the baseline, since a few 10 ms ticks give values like 0 or 100;
    until then the last value stands, and before any value the average since boot.
    """

    __slots__ = ("_last", "_min_window", "_value")

    def __init__(self, first: _CpuTicks, min_window: float) -> None:
        self._last = first
        self._min_window = min_window
        self._value: float | None = None

    def update(self, now: _CpuTicks) -> float | None:
        d_total = now.total - self._last.total
        if d_total >= self._min_window:
            self._value = _clamp(100.0 * (now.busy - self._last.busy) / d_total)
            self._last = now
        elif d_total < 0:  # counters went back (should not happen): restart from here
            self._last = now
        return self._value


def _add(out: list[Sample], name: str, value: float | None, labels: Labels = ()) -> None:
    if value is not None:
        out.append(Sample(name, value, labels))


def _clamp(pct: float) -> float:
    return min(100.0, max(0.0, pct))


class SystemCollector:
    """Samples the whole machine once per ``collect()`` without blocking.

    ``disk_paths`` are the directories whose drive matters (root, media, cache); each is resolved
    to its mount point (re-resolved every ``resolve_interval`` s), paths on one mount give one
    series labelled ``mountpoint``, and a missing path is skipped with one warning. Empty
    ``disk_paths`` means the root (``/`` or the system drive). Network totals are bytes since
    boot over every non-loopback interface and never go down when an interface disappears.

    Per-device counters (label ``device``) are the OS's own since-boot counters, for at most
    :data:`MAX_DEVICES` interfaces and block devices each, skipping loopback and virtual
    interfaces (container veths, bridges, taps) and pseudo block devices (loop, ram, zram,
    optical) and, on Linux, partitions; a device that reappears with counters reset is an
    ordinary counter reset to ``rate()``. ``sys_block`` lists the whole disks (None where the
    OS cannot say; tests pass their own).
    Every run reports every series it can read now and nothing else: a core that went
    offline, or a mount that went away or fails to read, has no series (see
    :attr:`families`, which the manager replaces as a whole).
    Not thread-safe: the manager calls ``collect()`` from one thread.
    """

    name = "system"
    families = frozenset(
        {
            "system_cpu_usage_percent",
            "system_cpu_core_usage_percent",
            "system_memory_usage_bytes",
            "system_memory_available_bytes",
            "system_memory_total_bytes",
            "system_swap_usage_bytes",
            "system_swap_total_bytes",
            "system_load_average",
            *_MOUNT_FAMILIES,
            *(metric for metric, _ in _DISK_IO_TOTALS),
            *(metric for metric, _ in _DISK_TIME_TOTALS),
            *(metric for metric, _ in _DISK_DEVICE),
            *(metric for metric, _ in _NET_DEVICE),
            "system_network_bytes_sent_total",
            "system_network_bytes_received_total",
        }
    )

    def __init__(
        self,
        *,
        psutil_module: ModuleType = psutil,
        disk_paths: Sequence[str] = (),
        per_cpu: bool = True,
        clock: Callable[[], float] = time.monotonic,
        resolve_interval: float = 60.0,
        sys_block: Callable[[], frozenset[str] | None] | None = None,
        max_devices: int = MAX_DEVICES,
    ) -> None:
        self._ps = psutil_module
        self._sys_block = _read_sys_block if sys_block is None else sys_block
        self._max_devices = max_devices
        self._over_cap_said: set[str] = set()
        self.devices_skipped = 0
        self._per_cpu = per_cpu
        self._mounts = MountResolver(disk_paths, clock=clock, resolve_interval=resolve_interval)
        # With per_cpu the machine figure is the sum of the cores: one read serves both.
        self._cores: list[_CpuMeter] = []
        if per_cpu:
            per_core = psutil_module.cpu_times(percpu=True)
            self._cores = _core_meters(per_core)
            first = _sum_ticks([_ticks(t) for t in per_core])
        else:
            first = _ticks(psutil_module.cpu_times(percpu=False))
        ncpu = psutil_module.cpu_count() or 1
        self._cpu = _CpuMeter(first, _MIN_WINDOW * ncpu)
        self._nic_last: dict[str, tuple[int, int]] = {}
        self._net_sent = 0.0
        self._net_recv = 0.0
        self._usage_failed: set[str] = set()

    def collect(self) -> Sequence[Sample]:
        """Read every source once; sources psutil lacks on this platform are left out."""
        out: list[Sample] = []
        self._collect_cpu(out)
        self._collect_memory(out)
        self._collect_load(out)
        self._collect_disk_space(out)
        self._collect_disk_io(out)
        self._collect_network(out)
        return out

    def close(self) -> None:
        """Nothing to release (psutil keeps no handles for machine-wide counters)."""

    # -- sources ----------------------------------------------------------------------------
    def _collect_cpu(self, out: list[Sample]) -> None:
        if not self._per_cpu:
            now = _ticks(self._ps.cpu_times(percpu=False))
            _add(out, "system_cpu_usage_percent", self._cpu.update(now))
            return
        per_core = self._ps.cpu_times(percpu=True)
        if len(per_core) != len(self._cores):  # a core went on/offline: start over
            self._cores = _core_meters(per_core)
        cores = [_ticks(t) for t in per_core]
        _add(out, "system_cpu_usage_percent", self._cpu.update(_sum_ticks(cores)))
        for i, (meter, now) in enumerate(zip(self._cores, cores, strict=True)):
            _add(out, "system_cpu_core_usage_percent", meter.update(now), (("cpu", str(i)),))

    def _collect_memory(self, out: list[Sample]) -> None:
        fields = _read_meminfo() if self._ps is psutil else None
        if fields is not None:  # one read of /proc/meminfo for memory and swap
            total, available, swap_total, swap_free = fields
            out.append(Sample("system_memory_usage_bytes", float(total - available)))
            out.append(Sample("system_memory_available_bytes", float(available)))
            out.append(Sample("system_memory_total_bytes", float(total)))
            out.append(Sample("system_swap_usage_bytes", float(swap_total - swap_free)))
            out.append(Sample("system_swap_total_bytes", float(swap_total)))
            return
        vm = self._ps.virtual_memory()
        out.append(Sample("system_memory_usage_bytes", float(vm.total - vm.available)))
        out.append(Sample("system_memory_available_bytes", float(vm.available)))
        out.append(Sample("system_memory_total_bytes", float(vm.total)))
        sw = self._ps.swap_memory()
        out.append(Sample("system_swap_usage_bytes", float(sw.used)))
        out.append(Sample("system_swap_total_bytes", float(sw.total)))

    def _collect_load(self, out: list[Sample]) -> None:
        getloadavg = getattr(self._ps, "getloadavg", None)
        if getloadavg is None:
            return
        try:
            loads = getloadavg()
        except OSError:
            return
        for period, value in zip(("1m", "5m", "15m"), loads, strict=True):
            out.append(Sample("system_load_average", float(value), (("period", period),)))

    def _collect_disk_space(self, out: list[Sample]) -> None:
        for mount in self._mounts.mount_points():
            try:
                du = self._ps.disk_usage(mount)
            except OSError as exc:
                if mount not in self._usage_failed:
                    self._usage_failed.add(mount)
                    _log.warning("disk metrics: cannot read usage of %s: %s", mount, exc)
                continue
            self._usage_failed.discard(mount)
            labels = (("mountpoint", mount),)
            out.append(Sample("system_disk_usage_bytes", float(du.used), labels))
            out.append(Sample("system_disk_available_bytes", float(du.free), labels))
            out.append(Sample("system_disk_total_bytes", float(du.total), labels))

    def _collect_disk_io(self, out: list[Sample]) -> None:
        # One read of the per-disk counters serves the totals too (psutil's own totals read
        # and parse every counter again): the totals add up the disks psutil would, those
        # Linux lists under /sys/block (whole disks, no partitions), every disk elsewhere.
        try:
            # nowrap=False: psutil's wrap guard copies every counter of every disk on each
            # call; the kernels' counters are 64-bit, and a reset reads as a counter reset.
            per_disk = self._ps.disk_io_counters(perdisk=True, nowrap=False)
        except (OSError, RuntimeError):  # no disks visible (containers, some VMs)
            return
        if not per_disk:
            return
        whole = self._sys_block()
        counted = [io for name, io in per_disk.items()
                   if whole is None or name.replace("/", "!") in whole]
        if not counted:
            return
        for metric, field in _DISK_IO_TOTALS:
            out.append(Sample(metric, float(sum(getattr(io, field) for io in counted))))
        for metric, field in _DISK_TIME_TOTALS:
            times = [getattr(io, field, None) for io in counted]
            numbers = [t for t in times if isinstance(t, int | float)]
            if len(numbers) == len(times):
                _add(out, metric, _ms_to_s(sum(numbers)))
        self._collect_disk_devices(out, per_disk, whole)

    def _collect_disk_devices(self, out: list[Sample], per_disk: dict[str, Any],
                              whole: frozenset[str] | None) -> None:
        names = [d for d in per_disk if not _VIRTUAL_DISK.match(d)
                 and (whole is None or d in whole)]
        for dev in self._capped("block device", sorted(names)):
            io = per_disk[dev]
            labels = (("device", dev),)
            for metric, field in _DISK_DEVICE:
                raw = getattr(io, field, None)
                if raw is None:
                    continue
                v = _ms_to_s(raw) if field.endswith("_time") else float(raw)
                _add(out, metric, v, labels)

    def _capped(self, kind: str, names: list[str]) -> list[str]:
        """The first ``max_devices`` names; the rest are counted and named in one warning."""
        kept, extra = names[: self._max_devices], names[self._max_devices:]
        if extra:
            self.devices_skipped += len(extra)
            if kind not in self._over_cap_said:
                self._over_cap_said.add(kind)
                _log.warning(
                    "system metrics: %d %ss over the limit of %d get no per-device series "
                    "(still in the totals): %s", len(extra), kind, self._max_devices,
                    ", ".join(extra[:8]) + (" ..." if len(extra) > 8 else ""),
                )
        return kept

    def _collect_network(self, out: list[Sample]) -> None:
        nics = self._ps.net_io_counters(pernic=True, nowrap=False)  # restarts: below
        seen: dict[str, tuple[int, int]] = {}
        for nic, c in nics.items():
            if _LOOPBACK.search(nic):
                continue
            now = (int(c.bytes_sent), int(c.bytes_recv))
            prev = self._nic_last.get(nic, (0, 0))
            # Growth since the last run; a counter that restarted (interface re-created)
            # counts from zero. A vanished interface keeps what it already contributed.
            self._net_sent += now[0] - prev[0] if now[0] >= prev[0] else now[0]
            self._net_recv += now[1] - prev[1] if now[1] >= prev[1] else now[1]
            seen[nic] = now
        self._nic_last = seen
        out.append(Sample("system_network_bytes_sent_total", self._net_sent))
        out.append(Sample("system_network_bytes_received_total", self._net_recv))
        real = sorted(n for n in seen if not _VIRTUAL_NIC.match(n))
        for nic in self._capped("network interface", real):
            labels = (("device", nic),)
            for metric, field in _NET_DEVICE:
                out.append(Sample(metric, float(getattr(nics[nic], field)), labels))


def _ms_to_s(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    return None


_MEMINFO_KEYS = (b"MemTotal:", b"MemFree:", b"MemAvailable:", b"SwapTotal:", b"SwapFree:")


def _read_meminfo() -> tuple[int, int, int, int] | None:
    """Memory total and available, swap total and free, in bytes, from one read of Linux's
    ``/proc/meminfo``, with psutil's rules (available is ``MemAvailable``, at most the
    total, else ``MemFree``). psutil reads that file twice and ``/proc/vmstat`` once for the
    same figures. None where the file or ``MemAvailable`` is missing: psutil then."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    kb: dict[bytes, int] = {}
    for line in raw.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in _MEMINFO_KEYS:
            kb[parts[0]] = int(parts[1]) * 1024
    if len(kb) != len(_MEMINFO_KEYS) or kb[b"MemAvailable:"] <= 0:
        return None
    total, available = kb[b"MemTotal:"], kb[b"MemAvailable:"]
    if available > total:
        available = kb[b"MemFree:"]
    return total, available, kb[b"SwapTotal:"], kb[b"SwapFree:"]


def _read_sys_block() -> frozenset[str] | None:
    """The whole disks Linux lists under ``/sys/block``; None elsewhere (no filter)."""
    try:
        return frozenset(os.listdir("/sys/block"))
    except OSError:
        return None


def _core_meters(per_core: Sequence[Any]) -> list[_CpuMeter]:
    return [_CpuMeter(_ticks(t), _MIN_WINDOW) for t in per_core]


def _sum_ticks(cores: Sequence[_CpuTicks]) -> _CpuTicks:
    return _CpuTicks(sum(c.busy for c in cores), sum(c.total for c in cores))

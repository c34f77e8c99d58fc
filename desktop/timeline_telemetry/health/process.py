"""ProcessHealthCheck: the editor's process is running, and for how long.

Listing every process is the expensive part (~80 % of a psutil snapshot), so the process
found is remembered and only it is looked at each round (``is_running`` also catches a reused
pid). A full scan happens on the first run, right after the remembered process exits, and
otherwise at most every ``rescan_interval`` while none is found.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import ModuleType

import psutil

from timeline_telemetry.collectors.proctree import executable_stem, matches_names

from .model import HealthCheckResult
from .units import human_duration

__all__ = ["ProcessHealthCheck"]

_ATTRS = ["name", "exe", "cmdline", "create_time"]


class ProcessHealthCheck:
    """Healthy while a process named one of ``process_names`` runs (matched like the editor
    collector: name, executable or ``argv[0]`` basename, case-insensitive, ``.exe`` ignored);
    Unhealthy otherwise. With several matches the oldest (the main process) is reported.
    ``clock`` is monotonic (rescan pacing), ``wall_clock`` gives the uptime.
    """

    kind = "process"

    def __init__(
        self,
        process_names: Sequence[str],
        *,
        rescan_interval: float = 60.0,
        name: str | None = None,
        timeout: float | None = None,
        psutil_module: ModuleType = psutil,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._wanted = frozenset(executable_stem(n) for n in process_names if n.strip())
        if not self._wanted:
            raise ValueError("process_names is empty: name at least one executable")
        self.process_names = tuple(process_names)
        self.rescan_interval = rescan_interval
        self.name = name or "process"
        self.timeout = timeout
        self._ps = psutil_module
        self._clock = clock
        self._wall = wall_clock
        self._proc: psutil.Process | None = None
        self._created = 0.0
        self._last_scan: float | None = None
        self.scans = 0  # full process scans so far (for tests and diagnostics)

    def check(self) -> HealthCheckResult:
        """Look at the remembered process; scan for one only when due."""
        if self._proc is not None and not self._alive(self._proc):
            self._proc = None
            self._last_scan = None  # it just exited: look for a restarted one now
        if self._proc is None:
            now = self._clock()
            if self._last_scan is None or now - self._last_scan >= self.rescan_interval:
                self._last_scan = now
                self._scan()
        proc = self._proc
        label = " or ".join(self.process_names)
        if proc is None:
            ago = self._clock() - (self._last_scan or self._clock())
            return HealthCheckResult.unhealthy(
                f"{label} is not running (looked {ago:.0f}s ago; looking again every "
                f"{self.rescan_interval:g}s)", processes=list(self.process_names))
        uptime = max(0.0, self._wall() - self._created)
        return HealthCheckResult.healthy(
            f"{label} running (pid {proc.pid}, up {human_duration(uptime)})",
            pid=proc.pid, uptime_seconds=round(uptime, 1))

    def _alive(self, proc: psutil.Process) -> bool:
        try:
            return bool(proc.is_running()) and proc.status() != self._ps.STATUS_ZOMBIE
        except (self._ps.NoSuchProcess, self._ps.AccessDenied):
            return False

    def _scan(self) -> None:
        self.scans += 1
        best: tuple[float, psutil.Process] | None = None
        for proc in self._ps.process_iter(_ATTRS, ad_value=None):
            info = proc.info
            if not matches_names(info, self._wanted):
                continue
            created = float(info.get("create_time") or 0.0)
            if best is None or created < best[0]:
                best = (created, proc)
        if best is not None:
            self._created, self._proc = best

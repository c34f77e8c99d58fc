"""ProcessHealthCheck: the editor's process is running, and for how long.

In the agent the check is given the editor collector's view (``view``) and only reads it: the
processes the collector found at its latest run, and when it last scanned. The check and
``editor_up`` then come from one source and cannot disagree, and no second process scan runs
on a schedule of its own. Standalone (the ``check`` command, no collector), it scans itself:

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

from timeline_telemetry.collectors.editor import EditorProcessView
from timeline_telemetry.collectors.proctree import executable_stem, matches_names

from .model import HealthCheckResult, HealthStatus
from .units import human_duration

__all__ = ["ProcessHealthCheck"]

_ATTRS = ["name", "exe", "cmdline", "create_time"]

#: A view older than this many collector cadences (the larger of its rescan interval and the
#: gap between its runs) is not trusted: the collector stalled or keeps failing.
STALE_VIEW_CADENCES = 3.0


class ProcessHealthCheck:
    """Healthy while a process named one of ``process_names`` runs (matched like the editor
    collector: name, executable or ``argv[0]`` basename, case-insensitive, ``.exe`` ignored);
    Unhealthy otherwise. With several matches the oldest (the main process) is reported.
    ``clock`` is monotonic (rescan pacing), ``wall_clock`` gives the uptime.

    With ``view`` (the editor collector's :meth:`~EditorProcessCollector.latest_view`, which
    must match the same names) the check never scans: Healthy when the collector's latest
    run saw the editor, Unhealthy when it did not (the message gives the collector's full-scan
    cadence), Unknown before the collector's first run or when its view is older than
    ``STALE_VIEW_CADENCES`` cadences. ``clock`` must then be the collector's clock.
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
        view: Callable[[], EditorProcessView | None] | None = None,
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
        self._view = view
        self.scans = 0  # full process scans so far (for tests and diagnostics)

    @property
    def reads_collector(self) -> bool:
        """True when the check reads the editor collector's view instead of scanning."""
        return self._view is not None

    def check(self) -> HealthCheckResult:
        """Read the collector's view; standalone, look at the remembered process and scan
        for one only when due."""
        if self._view is not None:
            return self._from_view(self._view())
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

    def _from_view(self, view: EditorProcessView | None) -> HealthCheckResult:
        label = " or ".join(self.process_names)
        if view is None:
            return HealthCheckResult(
                HealthStatus.UNKNOWN, f"{label}: not looked yet (the editor collector has not "
                "run)", time.time(), 0.0, {"processes": list(self.process_names)})
        now = self._clock()
        age = max(0.0, now - view.looked_at)
        cadence = max(view.rescan_interval, view.looked_every)
        if age > STALE_VIEW_CADENCES * cadence:
            return HealthCheckResult(
                HealthStatus.UNKNOWN, f"{label}: the editor collector last looked {age:.0f}s "
                f"ago (expected every {cadence:g}s); not known whether it runs", time.time(),
                0.0, {"processes": list(self.process_names), "looked_seconds_ago": round(age, 1)})
        if not view.running:
            ago = max(0.0, now - view.scanned_at)
            return HealthCheckResult.unhealthy(
                f"{label} is not running (looked {ago:.0f}s ago; looking again every "
                f"{view.rescan_interval:g}s)", processes=list(self.process_names),
                looked_seconds_ago=round(ago, 1), rescan_interval_seconds=view.rescan_interval)
        pid = view.main_pids[0]
        if view.started_at is None:
            return HealthCheckResult.healthy(f"{label} running (pid {pid})", pid=pid)
        uptime = max(0.0, self._wall() - view.started_at)
        return HealthCheckResult.healthy(
            f"{label} running (pid {pid}, up {human_duration(uptime)})",
            pid=pid, uptime_seconds=round(uptime, 1))

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

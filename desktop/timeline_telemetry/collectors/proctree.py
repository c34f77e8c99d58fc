"""Finds the editor's processes and keeps track of them and their descendants cheaply.

Listing every process is the expensive part of process monitoring (~80 % of a psutil
snapshot), so the full scan (``process_iter``) runs only when due (at most every
``rescan_interval``); between scans only the tracked processes' descendants are refreshed:

- Linux: ``Process.children()`` would read ``/proc/<pid>/stat`` of *every* process each time,
  so instead the pid list (one directory read) is compared with the previous one and only pids
  not seen before are asked for their parent. A process that was not a descendant of a tracked
  one can never become one, so old pids never need a second look.
- Elsewhere: ``children(recursive=True)`` on each root; psutil builds its parent map there with a
  single system call.

Process objects are kept between runs so per-process ``cpu_percent()`` has a baseline.
"""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

import psutil

__all__ = ["ProcessTree", "executable_stem", "matches_names"]

_INFO_ATTRS = ["name", "exe", "cmdline", "ppid"]


def executable_stem(name: str) -> str:
    """``/opt/x/Timeline-Studio.EXE`` -> ``timeline-studio``: basename, lower case, no ``.exe``."""
    base = ntpath.basename(posixpath.basename(name)).strip().lower()
    return base[:-4] if base.endswith(".exe") else base


def matches_names(info: dict[str, Any], wanted: frozenset[str]) -> bool:
    """True when the process name, the executable's basename or ``cmdline[0]``'s basename is
    one of ``wanted`` (stems as returned by :func:`executable_stem`)."""
    cmdline = info.get("cmdline") or ()
    for candidate in (info.get("name"), info.get("exe"), cmdline[0] if cmdline else None):
        if candidate and executable_stem(candidate) in wanted:
            return True
    return False


class ProcessTree:
    """The editor's root processes (matched by name) and their live descendants.

    ``process_names`` are matched case-insensitively, ``.exe`` ignored. A matched process that is
    also a descendant of another matched one stays a root. Not thread-safe.
    """

    def __init__(
        self,
        *,
        process_names: Sequence[str],
        rescan_interval: float,
        psutil_module: ModuleType = psutil,
        clock: Callable[[], float],
        pid_diff: bool | None = None,
    ) -> None:
        wanted = frozenset(executable_stem(n) for n in process_names if n.strip())
        if not wanted:
            raise ValueError("process_names is empty: name at least one editor executable")
        if not rescan_interval > 0:
            raise ValueError(f"rescan_interval must be > 0 seconds, got {rescan_interval!r}")
        self._wanted = wanted
        self._interval = rescan_interval
        self._ps = psutil_module
        self._clock = clock
        self._pid_diff = bool(psutil_module.LINUX) if pid_diff is None else pid_diff
        self._last_scan: float | None = None
        self.roots: dict[int, psutil.Process] = {}
        self.children: dict[int, psutil.Process] = {}
        self._unrelated: set[int] = set()

    @property
    def rescan_interval(self) -> float:
        """Seconds between full scans now (the back-off may have scaled it)."""
        return self._interval

    @property
    def last_scan(self) -> float | None:
        """When the latest full scan ran (on ``clock``), or None before the first."""
        return self._last_scan

    def set_rescan_interval(self, seconds: float) -> None:
        """Change how often the full scan runs (from the next refresh on)."""
        if not seconds > 0:
            raise ValueError(f"rescan_interval must be > 0 seconds, got {seconds!r}")
        self._interval = seconds

    def refresh(self) -> None:
        """Full scan when due, else a cheap refresh of the descendants of the tracked roots."""
        now = self._clock()
        if self._last_scan is None or now - self._last_scan >= self._interval:
            self._last_scan = now
            self._full_scan()
        elif not self.roots:
            self.children.clear()
        elif self._pid_diff:
            self._refresh_by_pid_diff()
        else:
            self._refresh_by_children()

    def drop(self, pid: int) -> None:
        """Forget a process found dead (or a zombie); the editor is gone when the last root is
        dropped. A zombie's pid is not looked at again until it disappears from the pid list."""
        self.roots.pop(pid, None)
        self.children.pop(pid, None)
        self._unrelated.add(pid)
        if not self.roots:
            self.children.clear()

    # -- scans ------------------------------------------------------------------------------
    def _full_scan(self) -> None:
        by_pid: dict[int, psutil.Process] = {}
        parent: dict[int, int] = {}
        roots: dict[int, psutil.Process] = {}
        for proc in self._ps.process_iter(_INFO_ATTRS, ad_value=None):
            info = proc.info
            by_pid[proc.pid] = proc
            if info.get("ppid") is not None:
                parent[proc.pid] = info["ppid"]
            if matches_names(info, self._wanted):
                roots[proc.pid] = self._keep(self.roots, proc)
        self.roots = roots
        self._unrelated = set()
        if not roots:
            self.children = {}
            return
        if self._pid_diff:
            kids = _descendants(roots.keys(), parent) - roots.keys()
            self.children = {p: self._keep(self.children, by_pid[p]) for p in kids}
            self._unrelated = set(by_pid) - kids - roots.keys()
        else:
            self._refresh_by_children()

    def _refresh_by_children(self) -> None:
        found: dict[int, psutil.Process] = {}
        for root in list(self.roots.values()):
            try:
                for child in root.children(recursive=True):
                    if child.pid not in self.roots:
                        found[child.pid] = child
            except (self._ps.NoSuchProcess, self._ps.AccessDenied):
                continue
        self.children = {pid: self._keep(self.children, p) for pid, p in found.items()}

    def _refresh_by_pid_diff(self) -> None:
        current = set(self._ps.pids())
        self._unrelated &= current
        tracked = self.roots.keys() | self.children.keys()
        new_pids = current - self._unrelated - tracked
        procs: dict[int, psutil.Process] = {}
        parent: dict[int, int] = {}
        for pid in new_pids:
            try:
                proc = self._ps.Process(pid)
                parent[pid] = proc.ppid()
            except self._ps.NoSuchProcess:  # already gone
                continue
            except self._ps.AccessDenied:
                self._unrelated.add(pid)
                continue
            procs[pid] = proc
        # Parents of new pids are either tracked, unrelated, or new themselves.
        kids = _descendants(tracked, parent) - tracked
        for pid in kids:
            self.children[pid] = procs[pid]
        self._unrelated |= procs.keys() - kids

    @staticmethod
    def _keep(cache: dict[int, psutil.Process], proc: psutil.Process) -> psutil.Process:
        """The cached object for the same process (same pid and start time), else ``proc``."""
        old = cache.get(proc.pid)
        return old if old is not None and old == proc else proc


def _descendants(ancestors: Iterable[int], parent: dict[int, int]) -> set[int]:
    """Pids in ``parent`` whose chain of parents reaches one of ``ancestors``."""
    kids_of: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        if pid != ppid:
            kids_of.setdefault(ppid, []).append(pid)
    out: set[int] = set()
    stack = list(ancestors)
    while stack:
        for kid in kids_of.get(stack.pop(), ()):
            if kid not in out:
                out.add(kid)
                stack.append(kid)
    return out

"""The editor's own footprint: its processes and their children (ffmpeg...) aggregated."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple, TypeVar

import psutil

from .base import Sample
from .proctree import ProcessTree, executable_stem

__all__ = ["EditorProcessCollector", "EditorProcessView"]

_T = TypeVar("_T")

#: Seconds a child name with no process left is still reported, as 0, before its series is
#: removed: plots and alert rules see the count drop to 0 instead of a line that just stops,
#: and names of short-lived helpers do not pile up for the life of the agent.
GONE_CHILD_HOLD_S = 300.0


@dataclass(frozen=True, slots=True)
class EditorProcessView:
    """What the editor collector saw at its latest run: the one source of truth for "is the
    editor running" (``editor_up`` and the Process health check both come from it).

    ``main_pids`` are the editor's own processes alive at that run, oldest first;
    ``started_at`` is the oldest one's creation (wall clock). ``looked_at`` (that run) and
    ``scanned_at`` (the latest full scan, the only moment a newly started editor is found)
    are on the collector's monotonic clock; ``rescan_interval`` is the full-scan cadence then
    in force (``process_rescan_interval`` scaled by the self-budget's back-off), and
    ``looked_every`` the gap between the collector's last two runs (0 after the first).
    ``members`` lists every live process of the editor at that run as ``(pid, role, name)``
    (role ``main`` or ``child``, name the executable's stem), so other collectors (the GPU's
    per-process figures) know the editor's processes without walking the process table.
    """

    main_pids: tuple[int, ...]
    started_at: float | None
    looked_at: float
    scanned_at: float
    rescan_interval: float
    looked_every: float = 0.0
    members: tuple[tuple[int, str, str], ...] = ()

    @property
    def running(self) -> bool:
        """True when the latest run saw at least one editor process."""
        return bool(self.main_pids)


class _Reading(NamedTuple):
    cpu: float
    rss: float
    threads: float
    files: float
    io: tuple[float, float] | None
    created: float | None


class EditorProcessCollector:
    """CPU, memory, threads, open descriptors and I/O of the editor and all its descendants.

    Editor processes are found by name (see :class:`ProcessTree`): a full process scan happens
    on the first run and then at most every ``rescan_interval`` seconds, also while no editor
    runs, so an editor started later shows up within one rescan interval. Descendants are
    refreshed every run without a full scan.

    Units and conventions: CPU is a sum in % of one core (a new process reads 0 on its first
    run); ``editor_open_files`` counts file descriptors (handles on Windows) where permitted;
    I/O totals are bytes as psutil's ``io_counters`` ``read_bytes``/``write_bytes`` (storage
    level on Linux), accumulated per process so a child that exits never makes them go down
    (left out where psutil has no ``io_counters``, e.g. macOS). ``collect`` is not
    thread-safe (one caller at a time); :meth:`latest_view` may be called from any thread.

    Processes that went away: ``editor_up`` and ``editor_processes`` are always reported (0
    when the editor is not running); ``editor_child_processes{name}`` of a name with no
    process left reads 0 for ``GONE_CHILD_HOLD_S`` seconds, then disappears;
    ``editor_uptime_seconds`` disappears while no editor runs.
    """

    name = "editor"
    families = frozenset(
        {
            "editor_up",
            "editor_processes",
            "editor_child_processes",
            "editor_cpu_usage_percent",
            "editor_memory_rss_bytes",
            "editor_threads",
            "editor_open_files",
            "editor_uptime_seconds",
            "editor_io_read_bytes_total",
            "editor_io_written_bytes_total",
        }
    )

    def __init__(
        self,
        *,
        process_names: Sequence[str],
        rescan_interval: float,
        psutil_module: ModuleType = psutil,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        pid_diff: bool | None = None,
    ) -> None:
        self._ps = psutil_module
        self._clock = clock
        self._wall_clock = wall_clock
        self._base_rescan = rescan_interval
        self._tree = ProcessTree(
            process_names=process_names,
            rescan_interval=rescan_interval,
            psutil_module=psutil_module,
            clock=clock,
            pid_diff=pid_diff,
        )
        self._has_io = hasattr(psutil_module.Process, "io_counters")
        self._fd_method = "num_handles" if psutil_module.WINDOWS else "num_fds"
        self._io_last: dict[psutil.Process, tuple[float, float]] = {}
        self._names: dict[psutil.Process, str] = {}  # children's label, read once
        self._child_seen: dict[str, float] = {}  # child name -> when a process last had it
        self._io_read = 0.0
        self._io_written = 0.0
        self._view_lock = threading.Lock()
        self._view: EditorProcessView | None = None

    def latest_view(self) -> EditorProcessView | None:
        """The editor's processes as of the latest :meth:`collect` (None before the first or
        after :meth:`close`). Thread-safe: returns an immutable snapshot."""
        with self._view_lock:
            return self._view

    def scale_rescan(self, factor: int) -> None:
        """Make the full process rescan ``factor`` times rarer (the self-budget's back-off)."""
        self._tree.set_rescan_interval(self._base_rescan * max(1, factor))

    def collect(self) -> Sequence[Sample]:
        """Refresh the tracked processes, read each once, and return the aggregates."""
        self._tree.refresh()
        cpu = rss = threads = files = 0.0
        oldest: float | None = None
        mains = 0
        main_pids: list[tuple[float, int]] = []
        child_names: Counter[str] = Counter()
        live: list[psutil.Process] = []
        io_now: dict[psutil.Process, tuple[float, float]] = {}
        # Children are read after the roots: when the last root turns out dead, the tree
        # forgets the children too (the editor is down), so that dict is empty by then.
        members: list[tuple[int, str, str]] = []
        for role, procs in (("main", self._tree.roots), ("child", self._tree.children)):
            for pid, proc in list(procs.items()):
                reading = self._read(proc)
                if reading is None:
                    self._tree.drop(pid)
                    continue
                live.append(proc)
                members.append((pid, role, self._names.get(proc, "unknown")))
                cpu += reading.cpu
                rss += reading.rss
                threads += reading.threads
                files += reading.files
                if reading.io is not None:
                    io_now[proc] = reading.io
                if role == "child":
                    child_names[members[-1][2]] += 1
                    continue
                mains += 1
                main_pids.append((reading.created or 0.0, proc.pid))
                if reading.created is not None and (oldest is None or reading.created < oldest):
                    oldest = reading.created
        out = [
            Sample("editor_up", 1.0 if mains else 0.0),
            Sample("editor_processes", float(mains), (("role", "main"),)),
            Sample("editor_processes", float(sum(child_names.values())), (("role", "child"),)),
            Sample("editor_cpu_usage_percent", cpu),
            Sample("editor_memory_rss_bytes", rss),
            Sample("editor_threads", threads),
            Sample("editor_open_files", files),
        ]
        for name, count in self._child_counts(child_names):
            out.append(Sample("editor_child_processes", count, (("name", name),)))
        if oldest is not None:
            out.append(Sample("editor_uptime_seconds", max(0.0, self._wall_clock() - oldest)))
        self._names = {p: self._names[p] for p in live if p in self._names}
        if self._has_io:
            self._accumulate_io(live, io_now)
            out.append(Sample("editor_io_read_bytes_total", self._io_read))
            out.append(Sample("editor_io_written_bytes_total", self._io_written))
        self._publish(tuple(pid for _, pid in sorted(main_pids)), oldest, tuple(members))
        return out

    def close(self) -> None:
        """Forget the tracked processes (psutil holds no OS handles for them)."""
        self._tree.roots.clear()
        self._tree.children.clear()
        self._io_last.clear()
        self._names.clear()
        self._child_seen.clear()
        with self._view_lock:
            self._view = None

    # -- helpers ----------------------------------------------------------------------------
    def _publish(self, main_pids: tuple[int, ...], oldest: float | None,
                 members: tuple[tuple[int, str, str], ...]) -> None:
        """Replace the view with what this run saw (one reference swap under the lock)."""
        now = self._clock()
        scanned = self._tree.last_scan
        with self._view_lock:
            before = self._view
            self._view = EditorProcessView(
                main_pids=main_pids,
                started_at=oldest,
                looked_at=now,
                scanned_at=now if scanned is None else scanned,
                rescan_interval=self._tree.rescan_interval,
                looked_every=max(0.0, now - before.looked_at) if before is not None else 0.0,
                members=members,
            )

    def _child_counts(self, running: Counter[str]) -> list[tuple[str, float]]:
        """Count per child name, sorted: the running ones, and 0 for names whose last process
        went away less than ``GONE_CHILD_HOLD_S`` seconds ago (older ones are forgotten)."""
        now = self._clock()
        for name in running:
            self._child_seen[name] = now
        self._child_seen = {
            name: seen
            for name, seen in self._child_seen.items()
            if name in running or now - seen < GONE_CHILD_HOLD_S
        }
        return [(name, float(running.get(name, 0))) for name in sorted(self._child_seen)]

    def _read(self, proc: psutil.Process) -> _Reading | None:
        """One process's figures, or None when it has exited or is a zombie. Also remembers
        its executable name (the first time only: on Linux a 15-character name costs an extra
        read of the command line)."""
        ps = self._ps
        try:
            with proc.oneshot():
                if proc.status() == ps.STATUS_ZOMBIE:
                    return None
                if proc not in self._names:
                    self._names[proc] = executable_stem(self._permitted(proc.name, "unknown"))
                created = self._permitted(proc.create_time, None)
                try:
                    cpu = float(proc.cpu_percent(None))
                except ps.AccessDenied:  # count the process; its figures are unknown
                    return _Reading(0.0, 0.0, 0.0, 0.0, None, created)
                rss = self._permitted(lambda: float(proc.memory_info().rss), 0.0)
                threads = self._permitted(lambda: float(proc.num_threads()), 0.0)
                files = self._permitted(lambda: float(getattr(proc, self._fd_method)()), 0.0)
                io = self._permitted(_io_pair(proc), None) if self._has_io else None
        except ps.NoSuchProcess:  # includes ZombieProcess
            return None
        except ps.AccessDenied:  # status() refused: count it, figures unknown
            return _Reading(0.0, 0.0, 0.0, 0.0, None, None)
        return _Reading(cpu, rss, threads, files, io, created)

    def _permitted(self, read: Callable[[], _T], default: _T) -> _T:
        """``read()``, or ``default`` where the OS refuses it (other users' processes)."""
        try:
            return read()
        except self._ps.AccessDenied:
            return default

    def _accumulate_io(
        self, live: list[psutil.Process], io_now: dict[psutil.Process, tuple[float, float]]
    ) -> None:
        """Add each live process's growth since its last reading (a new one counts fully).

        Exited processes keep what they contributed; one refused this run keeps its baseline.
        """
        last = self._io_last
        kept: dict[psutil.Process, tuple[float, float]] = {}
        for proc in live:
            now = io_now.get(proc)
            before = last.get(proc)
            if now is None:
                if before is not None:
                    kept[proc] = before
                continue
            before = before or (0.0, 0.0)
            self._io_read += max(0.0, now[0] - before[0])
            self._io_written += max(0.0, now[1] - before[1])
            kept[proc] = now
        self._io_last = kept


def _io_pair(proc: psutil.Process) -> Callable[[], tuple[float, float]]:
    def read() -> tuple[float, float]:
        io = proc.io_counters()
        return float(io.read_bytes), float(io.write_bytes)

    return read

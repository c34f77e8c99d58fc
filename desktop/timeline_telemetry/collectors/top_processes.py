"""The busiest processes of the whole machine over the last hours, kept in a small ring.

The metric history records the editor and its children only; a CPU hog that ran during an
incident and exited before anyone made a diagnostics bundle would otherwise leave no trace.
So every ``interval_s`` (30 s by default) one sample keeps the top ``top`` processes by CPU
(from ``cpu_times`` deltas between two samples, per pid *and* start time, so a reused pid
never inherits another process's baseline) and the top ``top`` by resident memory. The ring
holds ``keep_s`` seconds (2 h) and never more than :data:`MAX_SAMPLES` samples, whatever the
interval.

Why a scan of its own rather than the editor's :class:`~.proctree.ProcessTree`: that full scan
runs only with the editor collector, at ``process_rescan_interval`` scaled by the self-budget's
back-off, and between scans it deliberately avoids reading every process. This scan reads one
``/proc/<pid>/stat`` and ``statm`` per process (name, CPU times, start time, RSS), nothing
else. Measured cost of one sample on the development machine (100 processes, 2 cores):
about 3 ms of CPU (~30 us per process), i.e. ~0.01 % of one core at the 30 s default.

Known limit: a process that starts and exits between two samples is never seen. A process
first seen after the previous sample is credited with its CPU time since it started, so one
that lived through at least one sample shows even when it is gone by the next.

Times are on the injected ``clock`` (the runtime passes :meth:`ClockWatch.now`, the
pipeline's corrected wall clock); CPU elapsed time on ``monotonic``. Thread-safe.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_KEEP_S",
    "MAX_SAMPLES",
    "PERSIST_FILE",
    "PERSIST_MAX_BYTES",
    "ProcStat",
    "ProcessRow",
    "TopProcessesRecorder",
    "TopSample",
    "psutil_source",
    "read_saved",
    "samples_json",
]

_log = logging.getLogger("timeline_telemetry.collectors.top_processes")

DEFAULT_INTERVAL_S = 30.0
DEFAULT_KEEP_S = 2 * 3600.0
#: The ring never holds more samples than this (a short test interval stays bounded).
MAX_SAMPLES = 2000
#: The ring kept between runs, in the data dir (written at stop, read at start).
PERSIST_FILE = "top-processes.json"
#: A saved ring larger than this is ignored at load (and trimmed, oldest first, at save).
PERSIST_MAX_BYTES = 4 * 1024 * 1024
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ProcStat:
    """One process as a source reports it: ``create_time`` (wall clock) tells a reused pid
    apart; ``cpu_s`` is user + system CPU seconds since it started."""

    pid: int
    create_time: float
    name: str
    cpu_s: float
    rss_bytes: int


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One process in a sample: CPU in % of one core since the previous sample (None on
    the first sample, which only sets the baselines)."""

    pid: int
    name: str
    cpu_percent: float | None
    rss_bytes: int

    def as_json(self) -> dict[str, object]:
        """Plain JSON values."""
        cpu = None if self.cpu_percent is None else round(self.cpu_percent, 1)
        return {"pid": self.pid, "name": self.name, "cpu_percent": cpu,
                "rss_bytes": self.rss_bytes}


@dataclass(frozen=True, slots=True)
class TopSample:
    """One sample: when (``at``, on the recorder's clock), how many processes were seen,
    and the busiest by CPU and by resident memory."""

    at: float
    process_count: int
    by_cpu: tuple[ProcessRow, ...]
    by_rss: tuple[ProcessRow, ...]


def psutil_source(ps: ModuleType = psutil) -> Callable[[], list[ProcStat]]:
    """A source listing every process with psutil (a process that vanished or cannot be
    read mid-scan is left out)."""
    attrs = ["name", "cpu_times", "memory_info", "create_time"]

    def scan() -> list[ProcStat]:
        out: list[ProcStat] = []
        for proc in ps.process_iter(attrs, ad_value=None):
            info = proc.info
            times, mem, created = info.get("cpu_times"), info.get("memory_info"), \
                info.get("create_time")
            if times is None or mem is None or created is None:
                continue
            out.append(ProcStat(proc.pid, float(created), str(info.get("name") or "?"),
                                float(times.user + times.system), int(mem.rss)))
        return out

    return scan


class TopProcessesRecorder:
    """See the module docstring. ``source`` lists the processes (default: psutil);
    ``clock`` stamps samples (wall seconds); ``monotonic`` measures CPU elapsed time."""

    def __init__(
        self,
        *,
        source: Callable[[], Iterable[ProcStat]] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        interval_s: float = DEFAULT_INTERVAL_S,
        keep_s: float = DEFAULT_KEEP_S,
        top: int = 5,
    ) -> None:
        if not interval_s > 0 or not keep_s > 0 or top < 1:
            raise ValueError("interval_s and keep_s must be > 0 and top >= 1")
        self._source = source if source is not None else psutil_source()
        self._clock = clock
        self._mono = monotonic
        self.interval_s = interval_s
        self.keep_s = keep_s
        self.top = top
        self._lock = threading.Lock()
        self._ring: deque[TopSample] = deque(
            maxlen=min(MAX_SAMPLES, math.ceil(keep_s / interval_s) + 2))
        #: (pid, create_time) -> CPU seconds at the previous sample.
        self._cpu: dict[tuple[int, float], float] = {}
        self._prev: tuple[float, float] | None = None  # (monotonic, wall) of the last sample

    def __len__(self) -> int:
        with self._lock:
            return len(self._ring)

    def sample(self) -> TopSample:
        """Scan once, keep the sample in the ring and return it."""
        stats = list(self._source())
        mono, wall = self._mono(), self._clock()
        prev = self._prev
        rows: list[ProcessRow] = []
        cpu_now: dict[tuple[int, float], float] = {}
        for st in stats:
            key = (st.pid, st.create_time)
            cpu_now[key] = st.cpu_s
            rows.append(ProcessRow(st.pid, st.name, _percent(st, self._cpu.get(key), prev,
                                                             mono, wall), st.rss_bytes))
        self._cpu, self._prev = cpu_now, (mono, wall)
        busy = [r for r in rows if r.cpu_percent is not None]
        busy.sort(key=lambda r: (r.cpu_percent or 0.0, r.rss_bytes), reverse=True)
        rows.sort(key=lambda r: r.rss_bytes, reverse=True)
        sample = TopSample(wall, len(rows), tuple(busy[:self.top]), tuple(rows[:self.top]))
        with self._lock:
            self._ring.append(sample)
            self._expire(wall)
        return sample

    def samples(self, since: float = 0.0) -> list[TopSample]:
        """The kept samples taken at or after ``since`` (wall seconds), oldest first."""
        with self._lock:
            return [s for s in self._ring if s.at >= since]

    def to_json(self, since: float = 0.0, *,
                fmt_time: Callable[[float], str]) -> dict[str, object]:
        """The ``data`` of ``GET /api/v1/processes/top``: the samples from ``since`` with
        times written by ``fmt_time`` (RFC 3339 with offset)."""
        return {"enabled": True, "interval_seconds": self.interval_s,
                "keep_seconds": self.keep_s, "top": self.top,
                "samples": samples_json(self.samples(since), fmt_time=fmt_time)}

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path, *, max_bytes: int = PERSIST_MAX_BYTES) -> int:
        """Write the ring to ``path`` (written next to it, renamed into place), newest
        samples first within ``max_bytes``. Returns the samples written; ``OSError`` if it
        cannot be written."""
        lines: list[str] = []
        size = 0
        for s in reversed(self.samples()):
            line = json.dumps(_sample_doc(s), separators=(",", ":"))
            if size + len(line) + 2 > max_bytes:
                break
            lines.append(line)
            size += len(line) + 2
        joined = ",\n".join(reversed(lines))
        body = f'{{"v":{_FORMAT},"samples":[\n{joined}\n]}}\n'
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            tmp.write_text(body, encoding="utf-8")
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return len(lines)

    def load(self, path: Path, *, max_bytes: int = PERSIST_MAX_BYTES) -> int:
        """Add the samples saved in ``path`` that are still within ``keep_s``; returns how
        many. A missing file adds nothing; an unreadable, oversized or corrupt file (or
        sample) is skipped with a log line, never raised."""
        loaded = read_saved(path, max_bytes=max_bytes)
        now = self._clock()
        with self._lock:
            old = [s for s in loaded if s.at <= now]
            merged = sorted([*old, *self._ring], key=lambda s: s.at)
            self._ring.clear()
            self._ring.extend(merged)
            self._expire(now)
            ids = {id(s) for s in old}
            kept = sum(1 for s in self._ring if id(s) in ids)
        return kept

    def _expire(self, now: float) -> None:
        while self._ring and self._ring[0].at < now - self.keep_s:
            self._ring.popleft()


def samples_json(samples: Iterable[TopSample], *,
                 fmt_time: Callable[[float], str]) -> list[dict[str, object]]:
    """Samples as the API serves them (times written by ``fmt_time``)."""
    return [{"time": fmt_time(s.at), "process_count": s.process_count,
             "by_cpu": [r.as_json() for r in s.by_cpu],
             "by_rss": [r.as_json() for r in s.by_rss]} for s in samples]


def read_saved(path: Path, *, max_bytes: int = PERSIST_MAX_BYTES) -> list[TopSample]:
    """The samples saved in ``path``, oldest first. A missing file gives none; an unreadable,
    oversized or corrupt file (or sample) is skipped with a log line, never raised."""
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            _log.warning("top processes file %s ignored: over the bound of %d bytes",
                         path, max_bytes)
            return []
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("v") != _FORMAT \
                or not isinstance(doc.get("samples"), list):
            raise ValueError("not a top processes file")
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeError included
        _log.warning("top processes file %s could not be read: %s", path, exc)
        return []
    loaded: list[TopSample] = []
    for raw in doc["samples"]:
        try:
            loaded.append(_sample_from(raw))
        except (KeyError, TypeError, ValueError):
            continue
    if len(loaded) < len(doc["samples"]):
        _log.warning("top processes file %s: %d corrupt samples skipped", path,
                     len(doc["samples"]) - len(loaded))
    return sorted(loaded, key=lambda x: x.at)


def _percent(st: ProcStat, before: float | None, prev: tuple[float, float] | None,
             mono: float, wall: float) -> float | None:
    """CPU % of one core since the previous sample; for a process started since then, since
    it started (its CPU time then was 0). None without a baseline (the first sample)."""
    if prev is None:
        return None
    elapsed = mono - prev[0]
    if before is None:
        if st.create_time < prev[1]:
            return None  # seen for the first time but older: an unreadable one, say
        before, elapsed = 0.0, min(elapsed, wall - st.create_time)
    if elapsed <= 0:
        return None
    return max(0.0, (st.cpu_s - before) / max(elapsed, 0.01) * 100.0)


def _sample_doc(s: TopSample) -> dict[str, Any]:
    return {"at": round(s.at, 3), "n": s.process_count,
            "cpu": [[r.pid, r.name, r.cpu_percent, r.rss_bytes] for r in s.by_cpu],
            "rss": [[r.pid, r.name, r.cpu_percent, r.rss_bytes] for r in s.by_rss]}


def _row(raw: Any) -> ProcessRow:
    pid, name, cpu, rss = raw
    return ProcessRow(int(pid), str(name), None if cpu is None else float(cpu), int(rss))


def _sample_from(raw: Any) -> TopSample:
    at = float(raw["at"])
    if not math.isfinite(at):
        raise ValueError("bad time")
    return TopSample(at, int(raw["n"]), tuple(_row(r) for r in raw["cpu"]),
                     tuple(_row(r) for r in raw["rss"]))

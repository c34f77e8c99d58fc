"""The Console exporter: one short human-readable line per collection, e.g.

``03:12:05+0100 cpu 12.3% mem 7.1/15.6 GiB disk / 61% net ↑1.2 MB/s ↓3.4 MB/s editor off gpu -``

Only the key system metrics; network rates come from consecutive snapshots (the counters are
cumulative). A broken stream (closed pipe, unencodable console) is reported in ``status()``
and never raised into the collection loop.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from timeline_telemetry.metrics.model import Snapshot

from .base import ExportResult, ExportStatus
from .status import StatusTracker

__all__ = ["ConsoleExporter", "format_line", "human_rate"]

_GIB = 1024**3
_MAX_MOUNTS = 3


class ConsoleExporter:
    """``MetricsExporter`` printing :func:`format_line` for every snapshot.

    ``clock`` (monotonic seconds) times the interval between exports for the network rates;
    ``localtime`` turns the snapshot's timestamp into the time of day shown.
    """

    name = "console"

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        localtime: Callable[[float], time.struct_time] = time.localtime,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._clock = clock
        self._localtime = localtime
        self._tracker = StatusTracker(initial=ExportStatus.degraded("not started"))
        self._lock = threading.Lock()
        self._prev: tuple[float, float | None, float | None] | None = None
        self._arrows = _arrows_for(self._stream)

    def start(self) -> None:
        """Nothing to open."""
        self._tracker.set(ExportStatus.healthy())

    def export(self, snapshot: Snapshot) -> ExportResult:
        """Print one line; never raises."""
        with self._lock:
            try:
                now = self._clock()
                sent = _value(snapshot, "system_network_bytes_sent_total")
                recv = _value(snapshot, "system_network_bytes_received_total")
                rates: tuple[float | None, float | None] = (None, None)
                if self._prev is not None:
                    then, psent, precv = self._prev
                    rates = (_rate(psent, sent, now - then), _rate(precv, recv, now - then))
                self._prev = (now, sent, recv)
                line = format_line(
                    snapshot, rates=rates, localtime=self._localtime, arrows=self._arrows
                )
                self._stream.write(line + "\n")
                self._stream.flush()
            except Exception as exc:  # a console problem must not stop the collection loop
                self._tracker.failure(f"{type(exc).__name__}: {exc}")
                return ExportResult.FAILURE
        self._tracker.success()
        return ExportResult.SUCCESS

    def status(self) -> ExportStatus:
        """From the last writes (see :class:`StatusTracker`)."""
        return self._tracker.status()

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """The stream belongs to the caller: nothing to close."""

    @property
    def errors(self) -> int:
        """Failed writes since creation."""
        return self._tracker.errors

    def describe(self) -> str:
        """One log line for the CLI."""
        return "printing one line per collection to the console"


def format_line(
    snapshot: Snapshot,
    *,
    rates: tuple[float | None, float | None] = (None, None),
    localtime: Callable[[float], time.struct_time] = time.localtime,
    arrows: tuple[str, str] = ("↑", "↓"),
) -> str:
    """The console line for ``snapshot``; ``rates`` are (sent, received) bytes per second."""
    # The offset keeps the short time unambiguous (a time-zone change, a log read elsewhere).
    parts = [time.strftime("%H:%M:%S%z", localtime(snapshot.timestamp))]
    cpu = _value(snapshot, "system_cpu_usage_percent")
    parts.append("cpu -" if cpu is None else f"cpu {cpu:.1f}%")
    used = _value(snapshot, "system_memory_usage_bytes")
    total = _value(snapshot, "system_memory_total_bytes")
    if total is None and used is not None:
        avail = _value(snapshot, "system_memory_available_bytes")
        total = None if avail is None else used + avail
    if used is None or not total:
        parts.append("mem -")
    else:
        parts.append(f"mem {used / _GIB:.1f}/{total / _GIB:.1f} GiB")
    parts.append(_disks(snapshot))
    up, down = arrows
    parts.append(f"net {up}{human_rate(rates[0])} {down}{human_rate(rates[1])}")
    parts.append(_editor(snapshot))
    gpus = _values(snapshot, "gpu_utilization_percent")
    parts.append("gpu " + (",".join(f"{g:.0f}%" for g in gpus) if gpus else "-"))
    return " ".join(parts)


def human_rate(bytes_per_s: float | None) -> str:
    """``1.2 MB/s`` (decimal units, as network tools show them); ``-`` when unknown."""
    if bytes_per_s is None:
        return "-"
    v = bytes_per_s
    for unit in ("B/s", "kB/s", "MB/s", "GB/s"):
        if v < 1000 or unit == "GB/s":
            return f"{v:.0f} {unit}" if unit == "B/s" else f"{v:.1f} {unit}"
        v /= 1000
    return "-"  # pragma: no cover (the loop always returns)


# -- internals --------------------------------------------------------------------------
def _value(snapshot: Snapshot, name: str) -> float | None:
    vals = _values(snapshot, name)
    return vals[0] if vals else None


def _values(snapshot: Snapshot, name: str) -> list[float]:
    fam = snapshot.family(name)
    if fam is None:
        return []
    return [float(s.value) for s in fam.series if isinstance(s.value, (int, float))]


def _rate(prev: float | None, cur: float | None, dt: float) -> float | None:
    if prev is None or cur is None or dt <= 0 or cur < prev:  # cur < prev: counter reset
        return None
    return (cur - prev) / dt


def _disks(snapshot: Snapshot) -> str:
    used = _by_mount(snapshot, "system_disk_usage_bytes")
    avail = _by_mount(snapshot, "system_disk_available_bytes")
    shown: list[str] = []
    # The root first (or the first drive), then the watched media/cache mounts.
    for mount in sorted(used, key=lambda m: (m not in ("/", "C:\\"), m))[:_MAX_MOUNTS]:
        free = avail.get(mount)
        if free is None or used[mount] + free <= 0:
            continue
        shown.append(f"{mount} {100 * used[mount] / (used[mount] + free):.0f}%")
    return "disk " + (" ".join(shown) if shown else "-")


def _by_mount(snapshot: Snapshot, name: str) -> dict[str, float]:
    fam = snapshot.family(name)
    out: dict[str, float] = {}
    if fam is None:
        return out
    for s in fam.series:
        mount = dict(s.labels).get("mountpoint", "")
        if isinstance(s.value, (int, float)):
            out[mount] = float(s.value)
    return out


def _editor(snapshot: Snapshot) -> str:
    if not _value(snapshot, "editor_up"):
        return "editor off"
    text = "editor on"
    cpu = _value(snapshot, "editor_cpu_usage_percent")
    rss = _value(snapshot, "editor_memory_rss_bytes")
    if cpu is not None:
        text += f" {cpu:.0f}%"
    if rss is not None:
        text += f" {rss / _GIB:.1f} GiB"
    return text


def _arrows_for(stream: TextIO) -> tuple[str, str]:
    """Arrows if the stream can encode them (a Windows console in cp1252 cannot)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "↑↓".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ("tx ", "rx ")
    return ("↑", "↓")

"""The monitor's own cost: CPU and resident memory of the agent process."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from types import ModuleType

import psutil

from .base import Sample

__all__ = ["AgentCollector"]

#: Shortest wall-clock window (s) a CPU % is computed over; shorter ones are all noise.
_MIN_WINDOW = 0.1


class AgentCollector:
    """Reports ``telemetry_agent_cpu_usage_percent`` (% of one core: CPU seconds used between
    two runs over the seconds between them) and ``telemetry_agent_memory_rss_bytes``.

    ``pid`` defaults to the current process. Until ``0.1`` s have passed since construction the
    CPU figure is the average since the process started. Raises psutil's ``NoSuchProcess``
    from ``collect()`` if ``pid`` has exited.
    """

    name = "agent"
    families = frozenset(
        {"telemetry_agent_cpu_usage_percent", "telemetry_agent_memory_rss_bytes"}
    )

    def __init__(
        self,
        *,
        pid: int | None = None,
        psutil_module: ModuleType = psutil,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._proc = psutil_module.Process(os.getpid() if pid is None else pid)
        #: This process: its CPU time from the clock the kernel keeps for it, without
        #: reading and parsing /proc/self/stat each collection.
        self._own = pid is None and psutil_module is psutil
        self._clock = clock
        cpu = self._cpu_seconds()
        self._last = (clock(), cpu)
        age = wall_clock() - self._proc.create_time()
        self._value = 100.0 * cpu / age if age > 0 else 0.0

    def _cpu_seconds(self) -> float:
        if self._own:
            return time.process_time()
        t = self._proc.cpu_times()
        return float(t.user + t.system)

    def collect(self) -> Sequence[Sample]:
        """Read CPU and RSS."""
        cpu = self._cpu_seconds()
        rss = float(self._proc.memory_info().rss)
        now = self._clock()
        last_time, last_cpu = self._last
        if now - last_time >= _MIN_WINDOW:
            self._value = max(0.0, 100.0 * (cpu - last_cpu) / (now - last_time))
            self._last = (now, cpu)
        return [
            Sample("telemetry_agent_cpu_usage_percent", self._value),
            Sample("telemetry_agent_memory_rss_bytes", rss),
        ]

    def close(self) -> None:
        """Nothing to release."""

"""Qt-free description of the dashboard's plots and the history windows they show."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from timeline_telemetry.metrics import Labels

__all__ = ["PLOTS", "WINDOWS", "PlotSpec", "legend", "rate"]

#: (label, seconds, refresh every N ticks)
WINDOWS: tuple[tuple[str, float, int], ...] = (
    ("5 min", 300.0, 1),
    ("1 h", 3600.0, 5),
    ("24 h", 86400.0, 30),
    ("7 d", 7 * 86400.0, 60),
)


@dataclass(frozen=True, slots=True)
class PlotSpec:
    """One plot: a title, its unit and the sample names drawn (one curve per series).

    ``rate`` turns cumulative counters into per-second rates; ``scale`` divides values
    (bytes -> GiB). ``y_range`` fixes the vertical axis (percentages: 0-100) instead of
    following the data: an axis that moves is redrawn, text and all, at every update."""

    title: str
    unit: str
    metrics: tuple[str, ...]
    rate: bool = False
    scale: float = 1.0
    y_range: tuple[float, float] | None = None


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("CPU total", "%", ("system_cpu_usage_percent",), y_range=(0.0, 100.0)),
    PlotSpec("CPU per core", "%", ("system_cpu_core_usage_percent",), y_range=(0.0, 100.0)),
    PlotSpec("Memory", "GiB", ("system_memory_usage_bytes", "system_memory_total_bytes"),
             scale=2**30),
    PlotSpec("Disk usage", "GiB", ("system_disk_usage_bytes",), scale=2**30),
    PlotSpec("Disk I/O", "MiB/s", ("system_disk_read_bytes_total",
                                   "system_disk_written_bytes_total"), rate=True, scale=2**20),
    PlotSpec("Network", "MiB/s", ("system_network_bytes_received",
                                  "system_network_bytes_sent"), rate=True, scale=2**20),
    PlotSpec("GPU", "%", ("gpu_utilization_percent",), y_range=(0.0, 100.0)),
    PlotSpec("Editor CPU", "%", ("editor_cpu_usage_percent",)),
    PlotSpec("Editor RSS", "GiB", ("editor_memory_rss_bytes",), scale=2**30),
)


def legend(name: str, labels: Labels) -> str:
    """A short curve name: the sample name's tail plus its labels."""
    short = name.removeprefix("system_").removesuffix("_total")
    if not labels:
        return short
    return short + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"


def rate(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Per-second rate between consecutive points; a counter reset gives no point."""
    out: list[tuple[float, float]] = []
    for (t0, v0), (t1, v1) in pairwise(points):
        if t1 > t0 and v1 >= v0:
            out.append((t1, (v1 - v0) / (t1 - t0)))
    return out

"""Qt-free description of the dashboard's plots, the history windows they show, and how a
plot's vertical range follows its data without moving every second."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from timeline_telemetry.metrics import Labels

__all__ = ["PLOTS", "WINDOWS", "PlotSpec", "curve_name", "legend", "nice_step",
           "plotted_names", "rate", "sticky_y_range", "y_range_for"]

#: (label, seconds, refresh every N ticks)
WINDOWS: tuple[tuple[str, float, int], ...] = (
    ("5 min", 300.0, 1),
    ("1 h", 3600.0, 5),
    ("24 h", 86400.0, 30),
    ("7 d", 7 * 86400.0, 60),
)

#: Room left below a floor and above the data, as a fraction of the span, so a curve at the
#: floor (zero traffic) or at the top is not drawn on the plot's edge.
PAD = 0.03


@dataclass(frozen=True, slots=True)
class PlotSpec:
    """One plot: a title, its unit and the sample names drawn (one curve per series).

    ``rate`` turns cumulative counters into per-second rates; ``scale`` divides values
    (bytes -> GiB). ``names`` are the curves' legend names, parallel to ``metrics``: label
    values are appended; ``""`` gives a lone unlabelled curve no legend (the title names it);
    a missing entry falls back to :func:`legend`. ``total`` is a metric whose latest value is
    shown in the title ("of 23.5 GiB") instead of being drawn: a 23 GiB line squashes a
    2 GiB usage flat against zero.

    The vertical axis: ``y_range`` fixes it (percentages: 0-100). Otherwise it follows the
    data through :func:`sticky_y_range`: never smaller than ``min_span`` (display units, so
    noise of a few bytes does not fill the plot), never below ``floor`` (None: values can be
    negative), and changed only when the data leaves it: an axis that moves is redrawn, text
    and all, and that was most of an open dashboard's CPU."""

    title: str
    unit: str
    metrics: tuple[str, ...]
    rate: bool = False
    scale: float = 1.0
    y_range: tuple[float, float] | None = None
    names: tuple[str, ...] = ()
    total: str = ""
    min_span: float = 0.0
    floor: float | None = 0.0


_GIB, _MIB = float(2**30), float(2**20)

PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("CPU total", "%", ("system_cpu_usage_percent",), y_range=(0.0, 100.0),
             names=("",)),
    PlotSpec("CPU per core", "%", ("system_cpu_core_usage_percent",), y_range=(0.0, 100.0),
             names=("core",)),
    PlotSpec("Memory used", "GiB", ("system_memory_usage_bytes",), scale=_GIB,
             names=("",), total="system_memory_total_bytes", min_span=1.0),
    PlotSpec("Disk usage", "GiB", ("system_disk_usage_bytes",), scale=_GIB, names=("",),
             min_span=1.0),
    PlotSpec("Disk I/O", "MiB/s", ("system_disk_read_bytes_total",
                                   "system_disk_written_bytes_total"), rate=True, scale=_MIB,
             names=("read", "written"), min_span=1.0),
    # Counters named ``_total``; the older gauge names too (a history recorded before).
    PlotSpec("Network", "MiB/s", ("system_network_bytes_received_total",
                                  "system_network_bytes_sent_total",
                                  "system_network_bytes_received",
                                  "system_network_bytes_sent"), rate=True, scale=_MIB,
             names=("received", "sent", "received", "sent"), min_span=1.0),
    PlotSpec("GPU", "%", ("gpu_utilization_percent",), y_range=(0.0, 100.0),
             names=("",)),
    # Split by process (the GPU collector's bounded name/role labels: the editor, its
    # children, the five busiest others): who is using the GPU a render needs.
    PlotSpec("GPU by process", "%", ("process_gpu_utilization_percent",),
             y_range=(0.0, 100.0), names=("",)),
    # Above 100 % when the editor keeps more than one core busy: grows then, else 0-100.
    PlotSpec("Editor CPU", "%", ("editor_cpu_usage_percent",), names=("",),
             min_span=100.0),
    PlotSpec("Editor RSS", "GiB", ("editor_memory_rss_bytes",), scale=_GIB, names=("",),
             min_span=0.5),
)


def plotted_names() -> frozenset[str]:
    """Every sample name a fixed plot draws (the other-metrics list leaves them out)."""
    return frozenset(m for spec in PLOTS for m in spec.metrics)


def legend(name: str, labels: Labels) -> str:
    """A short curve name: the sample name's tail plus its labels."""
    short = name.removeprefix("system_").removesuffix("_total")
    if not labels:
        return short
    return short + "{" + ",".join(f"{k}={v}" for k, v in labels) + "}"


def curve_name(spec: PlotSpec, index: int, labels: Labels) -> str:
    """The legend text of ``spec.metrics[index]``'s series with ``labels``: the spec's name
    for it and the label values (``read sda``, ``core 3``, ``/``), or :func:`legend`'s.
    Empty (no legend entry) for a lone curve the title already names."""
    if index >= len(spec.names):
        return legend(spec.metrics[index], labels)
    return " ".join(p for p in (spec.names[index], *(v for _k, v in labels)) if p)


def rate(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Per-second rate between consecutive points; a counter reset gives no point."""
    out: list[tuple[float, float]] = []
    for (t0, v0), (t1, v1) in pairwise(points):
        if t1 > t0 and v1 >= v0:
            out.append((t1, (v1 - v0) / (t1 - t0)))
    return out


def nice_step(raw: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``raw`` (> 0): a round tick."""
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def y_range_for(lo: float, hi: float, *, min_span: float,
                floor: float | None) -> tuple[float, float]:
    """A calm range for data between ``lo`` and ``hi``: ends on round steps (a quarter of the
    span, 1-2-5), at least ``min_span`` tall, starting at ``floor`` when the data is near it,
    with a little room (:data:`PAD`) below the floor and above the data."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        base = 0.0 if floor is None else floor
        span = min_span if min_span > 0 else 1.0
        return base - PAD * span, base + span
    want = max(hi - lo, min_span)
    if want <= 0:  # flat data and no minimum: a tenth of its size (or 1 around zero)
        want = abs(hi) * 0.2 or 1.0
    step = nice_step(want / 4)
    a = math.floor(lo / step) * step
    b = math.ceil(hi / step) * step
    if b - hi < PAD * want:
        b += step
    if floor is not None and a - floor < step:
        a = floor  # close to the floor (zero traffic): show it
    elif lo - a < PAD * want:
        a -= step
    missing = math.ceil(round((want - (b - a)) / step, 9))
    if missing > 0:  # too short: grow both ways, never below the floor
        down = missing // 2
        if floor is not None:
            down = min(down, max(0, math.floor(round((a - floor) / step, 9))))
        a -= down * step
        b += (missing - down) * step
    if floor is not None and a <= floor:
        a = floor - PAD * (b - floor)
    return a, b


def sticky_y_range(lo: float, hi: float, current: tuple[float, float] | None, *,
                   min_span: float, floor: float | None) -> tuple[float, float] | None:
    """The range to switch to, or None to keep ``current``: it is kept while it holds the
    data and is no more than twice the height :func:`y_range_for` would pick (so the axis
    comes back down after a burst, but does not move with every new point)."""
    want = y_range_for(lo, hi, min_span=min_span, floor=floor)
    if current is not None:
        c0, c1 = current
        fits = (not (math.isfinite(lo) and math.isfinite(hi))) or (c0 <= lo and hi <= c1)
        if fits and c1 - c0 <= 2 * (want[1] - want[0]) * (1 + 1e-9):
            return None
    return want

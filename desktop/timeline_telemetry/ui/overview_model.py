"""Qt-free figures for the dashboard's Overview page and the tray icon's value.

Everything here reads the core's latest :class:`~timeline_telemetry.metrics.Snapshot` and
:class:`~timeline_telemetry.health.HealthReport` (what the controller already holds): no
second core, no I/O. The Overview widget only lays these out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from timeline_telemetry.health import HealthReport, HealthStatus
from timeline_telemetry.metrics import Snapshot

from .dashboard.plotspec import rate

if TYPE_CHECKING:
    from timeline_telemetry.history import HistoryStore

__all__ = [
    "EDITOR_STATES",
    "NET_RECEIVED",
    "NET_SENT",
    "TRAY_VALUES",
    "EditorState",
    "Figure",
    "NetworkRate",
    "drive_figures",
    "editor_state",
    "fmt_bytes",
    "fmt_hours",
    "fmt_rate",
    "machine_figures",
    "network_figure",
    "spark_history",
    "tray_value",
    "trend",
    "values_by_name",
]

#: The network totals: counters (``_total``) now, gauges under the old names before.
NET_SENT = ("system_network_bytes_sent_total", "system_network_bytes_sent")
NET_RECEIVED = ("system_network_bytes_received_total", "system_network_bytes_received")
EDITOR_STATES = ("not running", "idle", "rendering", "exporting")
#: The tray icon's value option (Settings): what the icon shows beside the health colour.
TRAY_VALUES = ("off", "cpu", "gpu", "ram")
#: Progress the editor may push (0-1, or 0-100 when above 1).
_PROGRESS = {"rendering": ("editor_render_progress_ratio", "editor_render_progress"),
             "exporting": ("editor_export_progress_ratio", "editor_export_progress")}
_GIB, _MIB, _KIB = float(2**30), float(2**20), 1024.0


def fmt_bytes(v: float) -> str:
    """``12.3 GiB`` / ``512 MiB`` (binary units, as the plots and the tooltip)."""
    if v >= _GIB:
        return f"{v / _GIB:.1f} GiB"
    if v >= _MIB:
        return f"{v / _MIB:.0f} MiB"
    return f"{v / _KIB:.0f} KiB"


def fmt_rate(bytes_per_s: float) -> str:
    """A transfer rate: ``1.2 MiB/s``, ``340 KiB/s``."""
    if bytes_per_s >= _MIB:
        return f"{bytes_per_s / _MIB:.1f} MiB/s"
    return f"{bytes_per_s / _KIB:.0f} KiB/s"


def fmt_hours(h: float) -> str:
    """Hours of footage: ``about 12 h`` above 10, ``3.5 h`` below, minutes under an hour."""
    if h >= 10:
        return f"{h:.0f} h"
    if h >= 1:
        return f"{h:.1f} h"
    return f"{h * 60:.0f} min"


def values_by_name(snapshot: Snapshot | None, names: Iterable[str]
                   ) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each named sample's (labels, value) pairs in ``snapshot`` (empty lists if absent)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {n: [] for n in names}
    if snapshot is None:
        return out
    for s in snapshot.flat_samples():
        if s.name in out and math.isfinite(s.value):
            out[s.name].append((dict(s.labels), s.value))
    return out


@dataclass(frozen=True, slots=True)
class Figure:
    """One headline figure: ``value`` (big), ``detail`` (small), ``number`` (the sparkline's
    y, in ``unit``; None when unknown) and ``level``: ``ok``, ``warn``, ``bad`` or ``none``."""

    key: str
    title: str
    value: str
    detail: str
    number: float | None
    unit: str
    level: str = "ok"

    def spoken(self) -> str:
        """The figure as one sentence (accessible description)."""
        return f"{self.title}: {self.value}" + (f", {self.detail}" if self.detail else "")


def _level(fraction: float, warn: float = 0.8, bad: float = 0.95) -> str:
    return "bad" if fraction >= bad else "warn" if fraction >= warn else "ok"


def _sum(rows: list[tuple[dict[str, str], float]]) -> float:
    return sum(v for _l, v in rows)


_MACHINE = (
    "system_cpu_usage_percent", "system_cpu_core_usage_percent", "system_memory_usage_bytes",
    "system_memory_total_bytes", "gpu_utilization_percent", "gpu_memory_used_bytes",
    "gpu_memory_total_bytes", "process_gpu_utilization_percent",
)


def machine_figures(snapshot: Snapshot | None) -> list[Figure]:
    """CPU, GPU, VRAM and RAM, in that order (``none`` level and "n/a" when unmeasured)."""
    v = values_by_name(snapshot, _MACHINE)
    out: list[Figure] = []
    cpu = v["system_cpu_usage_percent"]
    cores = len(v["system_cpu_core_usage_percent"])
    if cpu:
        out.append(Figure("cpu", "CPU", f"{cpu[0][1]:.0f} %",
                          f"{cores} cores" if cores else "", cpu[0][1], "%",
                          _level(cpu[0][1] / 100)))
    else:
        out.append(Figure("cpu", "CPU", "…", "measuring", None, "%", "none"))
    gpu = v["gpu_utilization_percent"]
    if gpu:
        top = max(x for _l, x in gpu)
        procs = sorted(v["process_gpu_utilization_percent"], key=lambda r: -r[1])
        # The GPU collector labels processes by ``name`` (and ``role``: main, child, other).
        who = (f"mostly {procs[0][0].get('name') or procs[0][0].get('process', '?')}"
               if procs and procs[0][1] > 0 else "")
        detail = ", ".join(p for p in (f"{len(gpu)} GPUs" if len(gpu) > 1 else "", who) if p)
        out.append(Figure("gpu", "GPU", f"{top:.0f} %", detail, top, "%", _level(top / 100)))
    else:
        out.append(Figure("gpu", "GPU", "n/a", "no GPU detected", None, "%", "none"))
    vused, vtotal = _sum(v["gpu_memory_used_bytes"]), _sum(v["gpu_memory_total_bytes"])
    if v["gpu_memory_used_bytes"] and vtotal > 0:
        out.append(Figure("vram", "VRAM", fmt_bytes(vused), f"of {fmt_bytes(vtotal)}",
                          vused / _GIB, "GiB", _level(vused / vtotal, 0.85, 0.95)))
    else:
        out.append(Figure("vram", "VRAM", "n/a", "no GPU memory reported", None, "GiB",
                          "none"))
    used, total = v["system_memory_usage_bytes"], v["system_memory_total_bytes"]
    if used and total and total[0][1] > 0:
        u, t = used[0][1], total[0][1]
        out.append(Figure("ram", "RAM", fmt_bytes(u), f"of {fmt_bytes(t)}", u / _GIB, "GiB",
                          _level(u / t, 0.85, 0.95)))
    else:
        out.append(Figure("ram", "RAM", "n/a", "", None, "GiB", "none"))
    return out


def drive_figures(report: HealthReport | None,
                  kinds: Mapping[str, str] | None = None) -> list[Figure]:
    """One figure per checked drive: hours of footage left on media drives (the disk check's
    ``footage_hours``), else the free space; level from the check's status."""
    if report is None:
        return []
    out: list[Figure] = []
    for name, result in report.results.items():
        meta = result.metadata
        if "free_bytes" not in meta and "footage_hours" not in meta:
            continue
        level = {HealthStatus.WARNING: "warn", HealthStatus.UNHEALTHY: "bad"}.get(
            result.status, "ok")
        free = meta.get("free_bytes")
        free_txt = fmt_bytes(float(free)) + " free" if isinstance(free, int | float) else ""
        hours = meta.get("footage_hours")
        if isinstance(hours, int | float):
            rate = meta.get("footage_bitrate_mbps")
            at = f" at {rate:g} Mbit/s" if isinstance(rate, int | float) else ""
            out.append(Figure(f"drive:{name}", name, f"{fmt_hours(float(hours))} of footage",
                              f"{free_txt}{at}", float(hours), "h", level))
        elif isinstance(free, int | float):
            used = meta.get("used_fraction")
            pct = f"{float(used):.0%} used" if isinstance(used, int | float) else ""
            out.append(Figure(f"drive:{name}", name, free_txt, pct, float(free) / _GIB, "GiB",
                              level))
    return out


class NetworkRate:
    """Bytes per second received and sent, from two snapshots' network totals (either the
    ``_total`` counters or the older gauges); a counter reset gives no rate that once."""

    def __init__(self) -> None:
        self._last: tuple[float, float, float] | None = None

    def update(self, snapshot: Snapshot | None) -> tuple[float, float] | None:
        """(received/s, sent/s) since the previous snapshot, None on the first one."""
        if snapshot is None:
            return None
        v = values_by_name(snapshot, (*NET_RECEIVED, *NET_SENT))
        rx = next((_sum(v[n]) for n in NET_RECEIVED if v[n]), None)
        tx = next((_sum(v[n]) for n in NET_SENT if v[n]), None)
        if rx is None or tx is None:
            return None
        last, self._last = self._last, (snapshot.timestamp, rx, tx)
        if last is None or snapshot.timestamp <= last[0]:
            return None
        dt = snapshot.timestamp - last[0]
        if rx < last[1] or tx < last[2]:
            return None
        return (rx - last[1]) / dt, (tx - last[2]) / dt


def network_figure(rates: tuple[float, float] | None) -> Figure:
    """The network figure from :meth:`NetworkRate.update`'s result."""
    if rates is None:
        return Figure("net", "Network", "…", "measuring", None, "MiB/s", "none")
    rx, tx = rates
    return Figure("net", "Network", f"↓ {fmt_rate(rx)}", f"↑ {fmt_rate(tx)}",
                  (rx + tx) / _MIB, "MiB/s")


@dataclass(frozen=True, slots=True)
class EditorState:
    """``state`` is one of :data:`EDITOR_STATES`; ``progress`` 0-1 when the editor sends it."""

    state: str
    progress: float | None = None

    @property
    def text(self) -> str:
        """``Rendering, 42 %`` / ``Idle`` / ``Not running``."""
        head = self.state.capitalize()
        return head if self.progress is None else f"{head}, {self.progress:.0%}"


def editor_state(snapshot: Snapshot | None) -> EditorState:
    """The editor's state from ``editor_up`` and the pushed ``editor_render_active`` /
    ``editor_export_active`` gauges (and a ``*_progress`` gauge when pushed)."""
    names = ("editor_up", "editor_render_active", "editor_export_active",
             *(n for pair in _PROGRESS.values() for n in pair))
    v = values_by_name(snapshot, names)
    exporting = any(x > 0 for _l, x in v["editor_export_active"])
    rendering = any(x > 0 for _l, x in v["editor_render_active"])
    running = any(x > 0 for _l, x in v["editor_up"])
    if not (running or rendering or exporting):
        return EditorState("not running")
    if not (rendering or exporting):
        return EditorState("idle")
    state = "exporting" if exporting else "rendering"
    for name in _PROGRESS[state]:
        if v[name]:
            p = max(x for _l, x in v[name])
            return EditorState(state, min(1.0, max(0.0, p / 100 if p > 1 else p)))
    return EditorState(state)


def tray_value(snapshot: Snapshot | None, which: str) -> float | None:
    """The tray icon's value (0-100 %) for ``which`` in :data:`TRAY_VALUES`; None for
    ``off`` or when not measured."""
    if which == "off":
        return None
    if which == "ram":
        v = values_by_name(snapshot, ("system_memory_usage_bytes", "system_memory_total_bytes"))
        used, total = v["system_memory_usage_bytes"], v["system_memory_total_bytes"]
        if used and total and total[0][1] > 0:
            return 100.0 * used[0][1] / total[0][1]
        return None
    fig = next((f for f in machine_figures(snapshot) if f.key == which), None)
    return None if fig is None else fig.number


#: The sparklines' span (seconds) and length (points): 10 minutes at 5 s.
SPARK_SPAN_S = 600.0
SPARK_POINTS = 120
_SPARK_SOURCES: dict[str, tuple[tuple[str, ...], float, str]] = {
    # key: (sample names, tried in order; divisor; how series combine)
    "cpu": (("system_cpu_usage_percent",), 1.0, "sum"),
    "gpu": (("gpu_utilization_percent",), 1.0, "max"),
    "vram": (("gpu_memory_used_bytes",), _GIB, "sum"),
    "ram": (("system_memory_usage_bytes",), _GIB, "sum"),
}


def spark_history(history: HistoryStore, end: float, span: float = SPARK_SPAN_S,
                  points: int = SPARK_POINTS) -> dict[str, list[float]]:
    """The sparklines' past from the history (run on a worker): each figure's values over the
    last ``span`` seconds, oldest first, in the figure's unit; the network as MiB/s."""
    out: dict[str, list[float]] = {}
    for key, (names, scale, how) in _SPARK_SOURCES.items():
        for name in names:
            series = history.query(name, start=end - span, end=end, max_points=points)
            if series:
                out[key] = _combine([s.points for s in series], how, scale)
                break
    rates: list[list[tuple[float, float]]] = []
    for group in (NET_RECEIVED, NET_SENT):
        for name in group:
            series = history.query(name, start=end - span, end=end, max_points=points)
            if series:
                for s in series:
                    rates.append(rate(list(s.points)))
                break
    if rates:
        out["net"] = _combine(rates, "sum", _MIB)
    return out


def _combine(per_series: list[list[tuple[float, float]]], how: str, scale: float
             ) -> list[float]:
    by_time: dict[float, list[float]] = {}
    for pts in per_series:
        for t, v in pts:
            by_time.setdefault(round(t, 3), []).append(v)
    pick = max if how == "max" else sum
    return [pick(vs) / scale for _t, vs in sorted(by_time.items())]


def trend(values: list[float]) -> str:
    """``rising``, ``falling`` or ``steady``: the last quarter against the rest (a change of
    more than a tenth of the range, or 1 unit)."""
    if len(values) < 4:
        return "steady"
    cut = len(values) * 3 // 4
    before, after = values[:cut], values[cut:]
    delta = sum(after) / len(after) - sum(before) / len(before)
    span = max(values) - min(values)
    if abs(delta) <= max(0.1 * span, 1e-9) or abs(delta) < 1e-3:
        return "steady"
    return "rising" if delta > 0 else "falling"

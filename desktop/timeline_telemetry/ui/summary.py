"""Qt-free text for the tray: the overall state, the tooltip lines, the icon name."""

from __future__ import annotations

from collections.abc import Iterable

from timeline_telemetry.health import HealthReport, HealthStatus
from timeline_telemetry.metrics import Snapshot

__all__ = ["MEASURING", "icon_state", "latest_values", "tooltip_text"]

#: Said for a figure whose first window is not over yet (the CPU's).
MEASURING = "measuring…"

_TOOLTIP_METRICS = (
    "system_cpu_usage_percent",
    "system_memory_usage_bytes",
    "system_memory_total_bytes",
    "gpu_utilization_percent",
    "editor_up",
    "editor_cpu_usage_percent",
    "editor_memory_rss_bytes",
)


def icon_state(report: HealthReport | None, *, paused: bool) -> str:
    """``healthy``, ``warning``, ``unhealthy``, ``unknown`` or ``paused`` (the icon's stem)."""
    if paused:
        return "paused"
    if report is None or not report.results:
        return "unknown"
    return report.overall.name.lower()


def latest_values(snapshot: Snapshot | None, names: Iterable[str]) -> dict[str, list[float]]:
    """The current values of each named metric (one per series; empty when absent)."""
    out: dict[str, list[float]] = {n: [] for n in names}
    if snapshot is None:
        return out
    for s in snapshot.flat_samples():
        if s.name in out:
            out[s.name].append(s.value)
    return out


def _gib(v: float) -> str:
    return f"{v / 2**30:.1f} GiB"


def tooltip_text(
    report: HealthReport | None, snapshot: Snapshot | None, *, paused: bool
) -> str:
    """The tray tooltip: health, CPU, memory, GPU and the editor's state, one per line."""
    health = "unknown" if report is None or not report.results else report.overall.label
    lines = [f"Timeline Telemetry: {health}" + (" (paused)" if paused else "")]
    if report is not None:
        bad = [n for n, r in report.results.items()
               if r.status in (HealthStatus.WARNING, HealthStatus.UNHEALTHY)]
        if bad:
            lines.append("Attention: " + ", ".join(bad))
    v = latest_values(snapshot, _TOOLTIP_METRICS)
    cpu = v["system_cpu_usage_percent"]
    lines.append(f"CPU: {cpu[0]:.0f}%" if cpu else f"CPU: {MEASURING}")
    used, total = v["system_memory_usage_bytes"], v["system_memory_total_bytes"]
    if used and total:
        lines.append(f"Memory: {_gib(used[0])} of {_gib(total[0])}")
    else:
        lines.append("Memory: n/a")
    gpu = v["gpu_utilization_percent"]
    lines.append(f"GPU: {max(gpu):.0f}%" if gpu else "GPU: none detected")
    up = v["editor_up"]
    if up and up[0] > 0:
        ecpu = sum(v["editor_cpu_usage_percent"])
        rss = sum(v["editor_memory_rss_bytes"])
        lines.append(f"Editor: running, CPU {ecpu:.0f}%, {_gib(rss)}")
    else:
        lines.append("Editor: not running")
    reduced = snapshot.family("telemetry_sampling_reduced") if snapshot is not None else None
    if reduced is not None:
        why = {"render": "the editor is rendering", "budget": "over its own CPU/memory budget"}
        reasons = [why.get(dict(s.labels).get("reason", ""), "") for s in reduced.series
                   if isinstance(s.value, float) and s.value > 0]
        if any(reasons):
            lines.append("Sampling less: " + ", ".join(r for r in reasons if r))
    return "\n".join(lines)

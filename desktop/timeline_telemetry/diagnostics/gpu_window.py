"""The GPUs over the bundle's window, from the metric history: each device's load, power and
temperature, the processes that used it (the editor, its children, the busiest others, by
name) and how long each clock throttle reason held it back. Written into ``processes.json``
(``gpu_over_window``) and summarised in ``SUMMARY.md``'s GPU section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from timeline_telemetry.collectors.gpu_nvml import THROTTLE_REASON_TEXT
from timeline_telemetry.history import HistoryStore, Stat

from .window import SeriesStats, _combine

__all__ = ["gpu_over_window", "gpu_summary_lines"]

#: Process rows kept in the file (busiest first) and named in the summary.
MAX_PROCESS_ROWS = 12
MAX_SUMMARY_PROCESSES = 5
_ROLE_TEXT = {"main": "the editor", "child": "the editor's child", "other": "other"}
_MB = 1024**2


def gpu_over_window(store: HistoryStore, *, start: float, end: float,
                    max_points: int = 240) -> dict[str, object] | None:
    """The GPUs over ``[start, end]`` from the history, or None when it holds no GPU series.

    ``devices``: per GPU, utilisation, memory used, power and temperature (avg, max, last);
    ``processes``: per ``(gpu, role, name)``, SM / encoder / decoder utilisation and memory,
    busiest first (at most ``MAX_PROCESS_ROWS``); ``editor``: the editor and its children
    together per GPU; ``throttling``: per GPU and reason, the share of the window it was
    active (the average of ``gpu_throttle_reason``) and whether it ever was (only reasons
    seen active, ``gpu_idle`` left out)."""
    def grouped(name: str, keys: Sequence[str]) -> dict[tuple[str, ...], SeriesStats]:
        return _grouped(store, name, keys, start=start, end=end, max_points=max_points)

    device_keys = ("gpu", "name")
    devices: dict[tuple[str, ...], dict[str, object]] = {}
    for field, metric in (("utilization_percent", "gpu_utilization_percent"),
                          ("memory_used_bytes", "gpu_memory_used_bytes"),
                          ("encoder_utilization_percent", "gpu_encoder_utilization_percent"),
                          ("power_watts", "gpu_power_usage_watts"),
                          ("temperature_celsius", "gpu_temperature_celsius")):
        for key, stats in grouped(metric, device_keys).items():
            devices.setdefault(key, {"gpu": key[0], "name": key[1]})[field] = stats.as_json()

    proc_keys = ("gpu", "role", "name")
    procs: dict[tuple[str, ...], dict[str, Any]] = {}
    for field, metric in (("utilization_percent", "process_gpu_utilization_percent"),
                          ("encoder_utilization_percent",
                           "process_gpu_encoder_utilization_percent"),
                          ("decoder_utilization_percent",
                           "process_gpu_decoder_utilization_percent"),
                          ("memory_bytes", "process_gpu_memory_used_bytes")):
        for key, stats in grouped(metric, proc_keys).items():
            procs.setdefault(key, dict(zip(proc_keys, key, strict=True)))[field] = \
                stats.as_json()
    ranked = sorted(procs.values(), key=lambda r: (-_busy(r), -_max(r, "memory_bytes"),
                                                   r["gpu"], r["role"], r["name"]))

    editor: dict[str, dict[str, object]] = {}
    for field, metric in (("utilization_percent", "editor_gpu_utilization_percent"),
                          ("encoder_utilization_percent", "editor_gpu_encoder_utilization_percent"),
                          ("memory_bytes", "editor_gpu_memory_used_bytes")):
        for key, stats in grouped(metric, ("gpu",)).items():
            editor.setdefault(key[0], {})[field] = stats.as_json()

    throttling: list[dict[str, Any]] = [
        {"gpu": key[0], "name": key[1], "reason": key[2],
         "active_share": round(stats.avg, 3), "points": stats.points}
        for key, stats in sorted(grouped("gpu_throttle_reason", ("gpu", "name", "reason"))
                                 .items())
        if key[2] != "gpu_idle" and stats.max > 0
    ]
    if not devices and not procs and not editor:
        return None
    return {
        "devices": [devices[k] for k in sorted(devices)],
        "processes": ranked[:MAX_PROCESS_ROWS],
        "editor": editor,
        "throttling": sorted(throttling, key=lambda t: (t["gpu"], -float(t["active_share"]))),
    }


def gpu_summary_lines(doc: Mapping[str, Any], checks: Mapping[str, Any] | None) -> list[str]:
    """``SUMMARY.md``'s GPU section from ``gpu_over_window`` (and the ``gpu`` health checks of
    ``health.json``'s current checks): at most one line per device, one for the processes,
    one for throttling, one per GPU check."""
    out: list[str] = []
    for d in _rows(doc.get("devices")):
        parts = [f"utilisation avg {_avg(d, 'utilization_percent'):.0f}% "
                 f"max {_max(d, 'utilization_percent'):.0f}%"]
        if "encoder_utilization_percent" in d:
            parts.append(f"NVENC max {_max(d, 'encoder_utilization_percent'):.0f}%")
        if "power_watts" in d:
            parts.append(f"power max {_max(d, 'power_watts'):.0f} W")
        if "temperature_celsius" in d:
            parts.append(f"temperature max {_max(d, 'temperature_celsius'):.0f} C")
        out.append(f"- GPU {d.get('gpu')} ({d.get('name')}): " + ", ".join(parts))
    procs = _rows(doc.get("processes"))
    if procs:
        out.append("- processes on the GPU (max SM %, max VRAM): " + ", ".join(
            f"{p.get('name')} ({_ROLE_TEXT.get(str(p.get('role')), p.get('role'))}, "
            f"GPU {p.get('gpu')}) {_max(p, 'utilization_percent'):.0f}%"
            + (f" {_max(p, 'memory_bytes') / _MB:.0f} MB" if "memory_bytes" in p else "")
            for p in procs[:MAX_SUMMARY_PROCESSES]))
    throttled = _rows(doc.get("throttling"))
    if throttled:
        out.append("- throttling over the window: " + ", ".join(
            f"GPU {t.get('gpu')} {THROTTLE_REASON_TEXT.get(str(t.get('reason')), t.get('reason'))} "
            f"{100 * _num(t.get('active_share')):.0f}% of the time" for t in throttled[:6]))
    elif out:
        out.append("- throttling over the window: none (for heat, power or otherwise)")
    for name, c in (checks or {}).items():
        if isinstance(c, dict) and c.get("kind") == "gpu":
            out.append(f"- check {name}: {c.get('status')}: {_short(c.get('message'))}")
    return out


def _grouped(store: HistoryStore, name: str, keys: Sequence[str], *, start: float,
             end: float, max_points: int) -> dict[tuple[str, ...], SeriesStats]:
    avgs = store.query(name, start=start, end=end, max_points=max_points)
    if not avgs:
        return {}
    peaks = {s.labels: s for s in store.query(name, start=start, end=end,
                                                  max_points=max_points, stat=Stat.MAX)}
    out: dict[tuple[str, ...], SeriesStats] = {}
    for s in avgs:
        labels = dict(s.labels)
        peak = peaks.get(s.labels)
        got = _combine([v for _, v in s.points], [v for _, v in peak.points] if peak else [])
        if got is not None:
            out[tuple(labels.get(k, "") for k in keys)] = got
    return out


def _rows(value: object) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _stat(row: Mapping[str, Any], field: str, stat: str) -> float:
    value = row.get(field)
    return _num(value.get(stat)) if isinstance(value, dict) else 0.0


def _max(row: Mapping[str, Any], field: str) -> float:
    return _stat(row, field, "max")


def _avg(row: Mapping[str, Any], field: str) -> float:
    return _stat(row, field, "avg")


def _busy(row: Mapping[str, Any]) -> float:
    return sum(_max(row, f) for f in ("utilization_percent", "encoder_utilization_percent",
                                      "decoder_utilization_percent"))


def _short(value: object, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

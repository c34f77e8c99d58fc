"""What the bundle reads from the metric history besides the CSV itself: when the incident
began (so the CSV keeps every raw point from then on) and the editor's processes over the
window (for ``processes.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from timeline_telemetry.history import HistoryStore, Stat

__all__ = [
    "DETAIL_S",
    "INCIDENT_LEAD_S",
    "SeriesStats",
    "detail_from",
    "editor_processes",
    "incident_start",
]

#: The newest part of the window kept at full resolution whatever happened.
DETAIL_S = 30 * 60.0
#: Full resolution also starts this long before the incident's first sign.
INCIDENT_LEAD_S = 5 * 60.0
#: Health status values that mark an incident (2=Warning, 3=Unhealthy).
_BAD = 2.0


def incident_start(store: HistoryStore, *, start: float, end: float) -> float | None:
    """The earliest time in ``[start, end]`` a health status (``*_health_status``,
    ``health_check_status``) was Warning or Unhealthy, or an alert was firing
    (``ALERTS{alertstate="firing"}``); None if neither happened."""
    firsts: list[float] = []
    for name in store.names():
        if name.endswith("_health_status") or name == "health_check_status":
            matchers: dict[str, str] = {}
            bad = _BAD
        elif name == "ALERTS":
            matchers, bad = {"alertstate": "firing"}, 1.0
        else:
            continue
        for series in store.query(name, matchers, start=start, end=end, stat=Stat.MAX):
            first = next((ts for ts, v in series.points if not math.isnan(v) and v >= bad),
                         None)
            if first is not None:
                firsts.append(first)
    return min(firsts) if firsts else None


def detail_from(store: HistoryStore, *, start: float, end: float) -> tuple[float, str]:
    """Where full resolution begins, and why (for the file's description): the last
    :data:`DETAIL_S`, or from :data:`INCIDENT_LEAD_S` before the incident if earlier."""
    recent = max(start, end - DETAIL_S)
    first = incident_start(store, start=start, end=end)
    if first is None or first - INCIDENT_LEAD_S >= recent:
        return recent, "the last 30 minutes"
    return max(start, first - INCIDENT_LEAD_S), (
        "the last 30 minutes and the incident (from 5 minutes before the first Warning/"
        "Unhealthy health status or firing alert)")


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """One series over the window: average, maximum and last value, and points seen."""

    avg: float
    max: float
    last: float
    points: int

    def as_json(self) -> dict[str, float | int]:
        """Plain JSON (values rounded to 3 decimals)."""
        return {"avg": round(self.avg, 3), "max": round(self.max, 3),
                "last": round(self.last, 3), "points": self.points}


_EDITOR_TOTALS = ("editor_up", "editor_cpu_usage_percent", "editor_memory_rss_bytes",
                  "editor_threads", "editor_open_files")


def editor_processes(store: HistoryStore, *, start: float, end: float,
                     max_points: int = 240) -> dict[str, object] | None:
    """The editor over ``[start, end]`` from the history: its totals (CPU, memory, threads,
    open files, summed over it and its children), its processes by role and its children by
    executable name (how many ran). None when the history has no editor series."""
    totals = {name: _stats(store, name, {}, start=start, end=end, max_points=max_points)
              for name in _EDITOR_TOTALS}
    roles = _by_label(store, "editor_processes", "role", start=start, end=end,
                      max_points=max_points)
    children = _by_label(store, "editor_child_processes", "name", start=start, end=end,
                         max_points=max_points)
    if not any(totals.values()) and not roles and not children:
        return None
    ranked = sorted(children.items(), key=lambda kv: (-kv[1].max, kv[0]))
    return {
        "totals": {k: v.as_json() for k, v in totals.items() if v is not None},
        "processes_by_role": {k: v.as_json() for k, v in sorted(roles.items())},
        "children_by_name": [{"name": k, "count": v.as_json()} for k, v in ranked],
    }


def _stats(store: HistoryStore, name: str, matchers: dict[str, str], *, start: float,
           end: float, max_points: int) -> SeriesStats | None:
    series = store.query(name, matchers, start=start, end=end, max_points=max_points)
    peaks = store.query(name, matchers, start=start, end=end, max_points=max_points,
                        stat=Stat.MAX)
    return _combine([v for s in series for _, v in s.points],
                    [v for s in peaks for _, v in s.points])


def _by_label(store: HistoryStore, name: str, label: str, *, start: float, end: float,
              max_points: int) -> dict[str, SeriesStats]:
    avgs = store.query(name, start=start, end=end, max_points=max_points)
    peaks = {s.labels: s for s in store.query(name, start=start, end=end,
                                                  max_points=max_points, stat=Stat.MAX)}
    out: dict[str, SeriesStats] = {}
    for s in avgs:
        key = dict(s.labels).get(label, "")
        peak = peaks.get(s.labels)
        got = _combine([v for _, v in s.points], [v for _, v in peak.points] if peak else [])
        if got is not None:
            out[key] = got
    return out


def _combine(avgs: list[float], peaks: list[float]) -> SeriesStats | None:
    vals = [v for v in avgs if not math.isnan(v)]
    if not vals:
        return None
    tops = [v for v in peaks if not math.isnan(v)] or vals
    return SeriesStats(avg=sum(vals) / len(vals), max=max(tops), last=vals[-1],
                       points=len(vals))

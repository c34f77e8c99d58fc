"""``processes.json``'s ``busiest_over_window``: the machine's busiest processes over the
bundle's window, from the agent's top-processes samples (its ``/api/v1/processes/top``, or
the ring it saved at its last stop), so a CPU hog gone by bundle time still shows.

Every input is the API's shape (``{"samples": [{"time", "by_cpu", "by_rss"}, ...]}``, times
RFC 3339 with offset) whichever way it was reached, so the CLI's and the tray's bundles agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .timefmt import local_rfc3339

__all__ = ["MAX_NAMES", "busiest_over_window", "saved_samples"]

#: Rows per list in ``busiest_over_window`` (by CPU, by memory).
MAX_NAMES = 10


def saved_samples(data_dir: Path, *, start: float, end: float) -> dict[str, object]:
    """The samples of the ring the agent saved at its last stop, from ``start`` to ``end``
    (Unix seconds), in the API's shape."""
    from timeline_telemetry.collectors.top_processes import (
        PERSIST_FILE,
        read_saved,
        samples_json,
    )

    path = data_dir / PERSIST_FILE
    kept = [s for s in read_saved(path) if start <= s.at <= end]
    return {"source": f"the samples the agent saved at its last stop ({path})",
            "samples": samples_json(kept, fmt_time=local_rfc3339)}


@dataclass
class _Name:
    pids: set[int] = field(default_factory=set)
    cpu: list[float] = field(default_factory=list)  # per sample in the top by CPU: its sum
    max_rss: int = 0
    in_top: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None


def busiest_over_window(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Per process name over the samples in ``doc``: its pids, CPU % (of one core, summed
    over its processes in a sample) average and maximum over the samples where it was in the
    top by CPU, maximum resident memory, how many samples it was in the top (by CPU or by
    memory), first and last seen. ``by_cpu`` is ordered by the maximum CPU, ``by_memory``
    by the maximum memory; each at most :data:`MAX_NAMES` rows."""
    samples = [s for s in doc.get("samples") or [] if isinstance(s, Mapping)]
    names: dict[str, _Name] = {}
    for s in samples:
        when = _parse(s.get("time"))
        cpu_rows = _rows(s.get("by_cpu"))
        cpu_sum: dict[str, float] = {}
        for r in cpu_rows:
            if isinstance(r.get("cpu_percent"), int | float):
                name = str(r.get("name"))
                cpu_sum[name] = cpu_sum.get(name, 0.0) + float(r["cpu_percent"])
        seen: set[str] = set()
        for r in [*cpu_rows, *_rows(s.get("by_rss"))]:
            name = str(r.get("name"))
            entry = names.setdefault(name, _Name())
            if isinstance(r.get("pid"), int):
                entry.pids.add(r["pid"])
            if isinstance(r.get("rss_bytes"), int | float):
                entry.max_rss = max(entry.max_rss, int(r["rss_bytes"]))
            if name in seen:
                continue
            seen.add(name)
            entry.in_top += 1
            if name in cpu_sum:
                entry.cpu.append(cpu_sum[name])
            if when is not None:
                entry.first = when if entry.first is None else min(entry.first, when)
                entry.last = when if entry.last is None else max(entry.last, when)
    rows = [_row(n, e) for n, e in names.items()]
    out: dict[str, Any] = {
        "samples": len(samples),
        "first_sample": samples[0].get("time") if samples else None,
        "last_sample": samples[-1].get("time") if samples else None,
        "by_cpu": sorted((r for r in rows if r["cpu_percent_max"] is not None),
                         key=lambda r: (r["cpu_percent_max"], r["cpu_percent_avg"]),
                         reverse=True)[:MAX_NAMES],
        "by_memory": sorted(rows, key=lambda r: r["rss_bytes_max"], reverse=True)[:MAX_NAMES],
        "note": "CPU in % of one core since the sample before (avg and max over the samples "
                f"where the name was in the top {doc.get('top', 5)} by CPU, its processes "
                "summed); memory is resident (RSS); a process that started and exited "
                "between two samples is not seen",
    }
    for key in ("source", "interval_seconds", "keep_seconds", "top", "live_error"):
        if key in doc:
            out[key] = doc[key]
    return out


def _row(name: str, e: _Name) -> dict[str, Any]:
    return {"name": name, "pids": sorted(e.pids),
            "cpu_percent_avg": round(sum(e.cpu) / len(e.cpu), 1) if e.cpu else None,
            "cpu_percent_max": round(max(e.cpu), 1) if e.cpu else None,
            "rss_bytes_max": e.max_rss, "samples_in_top": e.in_top,
            "first_seen": _fmt(e.first), "last_seen": _fmt(e.last)}


def _rows(value: object) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _parse(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _fmt(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="milliseconds")


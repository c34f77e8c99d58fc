"""``SUMMARY.md``: what happened, readable in a minute, from the bundle's own files.

Built last, from the bytes already assembled (so already scrubbed: nothing secret or
personal can get in that the other files do not hold), it reads ``health.json``,
``alerts.json``, ``export_status.json``, ``system.json``, ``processes.json``,
``traces/store.json`` and ``editor-logs/*``. Every section says "nothing" when it has
nothing to say; a file that is absent or malformed is named, never fatal. Short by design
(each section is capped) and plain Markdown; times as the files give them (RFC 3339 with
the workstation's offset).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SUMMARY_NAME", "summary_markdown"]

SUMMARY_NAME = "SUMMARY.md"
_MAX_ROWS = 5
_MAX_LOG_LINES = 10
_MAX_LINE = 200
_LOG_ERROR = re.compile(r"\b(error|fatal|failed|failure|crash(ed)?)\b", re.IGNORECASE)
_EDITOR_NAMES = ("timeline-studio", "timeline_studio")
_HELPER_NAMES = ("ffmpeg", "ffprobe")
_GB = 1024**3
_MB = 1024**2


def summary_markdown(files: Mapping[str, bytes], *, created_at: str, start: str,
                     end: str) -> str:
    """The Markdown text of ``SUMMARY.md`` for the bundle's ``files`` (name -> bytes).

    Never raises: a section that cannot be written says "summary incomplete: ..." and the
    next one is tried."""
    lines = ["# Diagnostics summary", "",
             f"Created {created_at}; window {start} to {end}."]
    tz = _tz_line(_soft(files, "system.json"))
    if tz:
        lines.append(tz)
    sections: tuple[tuple[str, Callable[[Mapping[str, bytes]], list[str]]], ...] = (
        ("Health", _health), ("Alerts", _alerts), ("Exporters", _exporters),
        ("Editor", _editor), ("GPU", _gpu), ("Top processes", _processes),
        ("Fullest drives", _drives),
        ("Error spans", _error_spans), ("Last errors in the editor's log", _editor_log))
    for title, build in sections:
        lines += ["", f"## {title}"]
        try:
            body = build(files)
        except _Missing as exc:
            body = [f"- summary incomplete: {exc}"]
        except Exception as exc:  # the summary must never fail the bundle
            body = [f"- summary incomplete: {type(exc).__name__}: {exc}"]
        lines += body or ["- nothing"]
    return "\n".join(lines) + "\n"


class _Missing(Exception):
    """A file the summary reads is absent or not JSON."""


def _load(files: Mapping[str, bytes], name: str) -> Any:
    data = files.get(name)
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Missing(f"{name} is not readable JSON ({exc})") from exc


def _soft(files: Mapping[str, bytes], name: str) -> Any:
    """``name``'s JSON for a side remark: None when absent or malformed (its own section
    says so)."""
    try:
        return _load(files, name)
    except _Missing:
        return None


def _need(files: Mapping[str, bytes], name: str) -> Any:
    doc = _load(files, name)
    if doc is None:
        raise _Missing(f"{name} is not in the bundle")
    return doc


def _tz_line(system: Any) -> str:
    tz = system.get("time_zone") if isinstance(system, dict) else None
    if not isinstance(tz, dict) or "utc_offset" not in tz:
        return ""
    return f"Time zone: {tz.get('name')} (UTC{tz.get('utc_offset')})."


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(value: object, limit: int = _MAX_LINE) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _note(doc: Any) -> list[str]:
    """A provider's ``{"available": false, "note"/"error"}`` as one line, else []."""
    if isinstance(doc, dict) and doc.get("available") is False:
        return [f"- not available: {_short(doc.get('note') or doc.get('error') or '')}"]
    return []


def _health(files: Mapping[str, bytes]) -> list[str]:
    doc = _need(files, "health.json")
    if note := _note(doc):
        return note
    current = doc.get("current", doc) if isinstance(doc, dict) else {}
    out: list[str] = []
    if isinstance(current, dict) and "status" in current:
        out.append(f"- now: **{current.get('status')}** (at {current.get('timestamp')})")
        checks = current.get("checks")
        if isinstance(checks, dict):
            bad = [(n, c) for n, c in checks.items()
                   if isinstance(c, dict) and not _healthy(c)]
            for name, c in sorted(bad, key=lambda x: -_num(x[1].get("status_code")))[:8]:
                meta = _dict(c.get("metadata"))
                where = f" ({meta['path']})" if meta.get("path") else ""
                out.append(f"- {name}{where}: **{c.get('status')}**: "
                           f"{_short(c.get('message'))}")
            if not bad:
                out.append(f"- all {len(checks)} checks healthy")
    transitions = doc.get("transitions") if isinstance(doc, dict) else None
    if isinstance(transitions, list) and transitions:
        out.append(f"- transitions ({len(transitions)}, the last {min(6, len(transitions))}):")
        for t in transitions[-6:]:
            if isinstance(t, dict):
                out.append(f"  - {t.get('when')} {t.get('component')}: {t.get('old')} -> "
                           f"{t.get('new')}: {_short(t.get('message'), 120)}")
    elif out:
        out.append("- transitions: nothing")
    return out


def _healthy(check: dict[str, Any]) -> bool:
    return str(check.get("status", "")).lower() in ("healthy", "")


def _alerts(files: Mapping[str, bytes]) -> list[str]:
    doc = _need(files, "alerts.json")
    if note := _note(doc):
        return note
    if not isinstance(doc, dict):
        return []
    out: list[str] = []
    active = [a for a in doc.get("active") or [] if isinstance(a, dict)]
    for a in active[:_MAX_ROWS]:
        labels, ann = _dict(a.get("labels")), _dict(a.get("annotations"))
        since = a.get("activeAt") or a.get("active_at")
        out.append(f"- active: **{labels.get('alertname')}** ({a.get('state', 'active')}, "
                   f"since {since}) {_short(ann.get('summary') or '', 120)}".rstrip())
    fired = [e for e in doc.get("history") or []
             if isinstance(e, dict) and e.get("event") == "firing"]
    for e in fired[:_MAX_ROWS]:
        out.append(f"- fired: {e.get('alertname')} at {e.get('ts')}")
    if not out and doc.get("note"):
        out.append(f"- nothing ({_short(doc.get('note'))})")
    return out


def _exporters(files: Mapping[str, bytes]) -> list[str]:
    doc = _need(files, "export_status.json")
    if note := _note(doc):
        return note
    table = doc.get("exporters", doc) if isinstance(doc, dict) else {}
    out: list[str] = []
    if not isinstance(table, dict):
        return out
    for name, st in sorted(table.items()):
        if not isinstance(st, dict) or "state" not in st:
            continue
        line = f"- {name}: **{st.get('state')}**"
        if st.get("detail"):
            line += f": {_short(st.get('detail'), 120)}"
        if st.get("last_error") == st.get("detail") and st.get("last_error"):
            line += f" (last at {st.get('last_error_at')})"
        elif st.get("last_error"):
            line += f"; last error at {st.get('last_error_at')}: " \
                    f"{_short(st.get('last_error'), 120)}"
        out.append(line)
    return out


def _rows(doc: Any, key: str) -> list[dict[str, Any]]:
    rows = doc.get(key) if isinstance(doc, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _editor(files: Mapping[str, bytes]) -> list[str]:
    out: list[str] = []
    procs = _soft(files, "processes.json")
    seen: dict[object, dict[str, Any]] = {}
    for key in ("top_by_cpu", "top_by_memory"):
        for r in _rows(procs, key):
            seen.setdefault(r.get("pid"), r)
    editor = [r for r in seen.values() if str(r.get("name")) in _EDITOR_NAMES]
    for r in editor[:2]:
        out.append(f"- running: {r.get('name')} (pid {r.get('pid')}), "
                   f"{_num(r.get('cpu_percent')):.0f}% CPU, "
                   f"{_num(r.get('rss_bytes')) / _MB:.0f} MB")
    if procs is not None and not editor:
        out.append("- the editor (timeline-studio) is not among the top processes")
    helpers = [r for r in seen.values() if str(r.get("name")) in _HELPER_NAMES]
    if helpers:
        out.append(f"- {len(helpers)} ffmpeg/ffprobe among the top processes: " + ", ".join(
            f"pid {r.get('pid')} {_num(r.get('cpu_percent')):.0f}% CPU" for r in helpers[:4]))
    out += _editor_window(_dict(_dict(procs).get("editor_over_window")))
    health = _soft(files, "health.json")
    current = health.get("current", health) if isinstance(health, dict) else None
    checks = current.get("checks") if isinstance(current, dict) else None
    if isinstance(checks, dict):
        for name, c in checks.items():
            if isinstance(c, dict) and c.get("kind") in ("process", "Process"):
                out.append(f"- check {name}: {c.get('status')}: {_short(c.get('message'), 120)}")
    return out


def _editor_window(doc: dict[str, Any]) -> list[str]:
    """The editor over the window from the history (``processes.json``'s
    ``editor_over_window``): CPU and memory summed with its children, children by name."""
    totals = _dict(doc.get("totals"))
    out: list[str] = []
    cpu, rss = _dict(totals.get("editor_cpu_usage_percent")), \
        _dict(totals.get("editor_memory_rss_bytes"))
    if cpu or rss:
        out.append(f"- over the window, with its children: CPU avg {_num(cpu.get('avg')):.0f}%"
                   f" max {_num(cpu.get('max')):.0f}%, memory max "
                   f"{_num(rss.get('max')) / _MB:.0f} MB")
    kids = [c for c in doc.get("children_by_name") or [] if isinstance(c, dict)]
    if kids:
        out.append("- its children by name (most at once): " + ", ".join(
            f"{c.get('name')} ({_num(_dict(c.get('count')).get('max')):.0f})"
            for c in kids[:_MAX_ROWS]))
    return out


def _gpu(files: Mapping[str, bytes]) -> list[str]:
    """The GPUs over the window (``processes.json``'s ``gpu_over_window``): load, the
    processes on them, throttling, and the GPU throttle check."""
    from .gpu_window import gpu_summary_lines

    doc = _dict(_dict(_soft(files, "processes.json")).get("gpu_over_window"))
    if note := _note(doc):
        return note
    health = _soft(files, "health.json")
    current = health.get("current", health) if isinstance(health, dict) else None
    checks = current.get("checks") if isinstance(current, dict) else None
    return gpu_summary_lines(doc, checks if isinstance(checks, dict) else None)


def _processes(files: Mapping[str, bytes]) -> list[str]:
    """The busiest processes over the window first (``busiest_over_window``: gone ones
    too), then the sample taken at bundle time."""
    doc = _need(files, "processes.json")
    out = _busiest_window(_dict(_dict(doc).get("busiest_over_window")))
    cpu = _rows(doc, "top_by_cpu")[:_MAX_ROWS]
    if cpu:
        out.append("- at bundle time, by CPU: " + ", ".join(
            f"{r.get('name')} (pid {r.get('pid')}) {_num(r.get('cpu_percent')):.0f}%"
            for r in cpu))
    mem = _rows(doc, "top_by_memory")[:_MAX_ROWS]
    if mem:
        out.append("- at bundle time, by memory: " + ", ".join(
            f"{r.get('name')} (pid {r.get('pid')}) {_num(r.get('rss_bytes')) / _MB:.0f} MB"
            for r in mem))
    return out


def _busiest_window(doc: dict[str, Any]) -> list[str]:
    """``processes.json``'s ``busiest_over_window``: by CPU (with when each was seen) and by
    memory, names as the file holds them (already pseudonymised)."""
    if note := _note(doc):
        return [f"- over the window: {note[0].removeprefix('- ')}"]
    cpu = _rows(doc, "by_cpu")[:_MAX_ROWS]
    mem = _rows(doc, "by_memory")[:_MAX_ROWS]
    out = [f"- over the window ({_num(doc.get('samples')):.0f} samples from "
           f"{doc.get('first_sample')} to {doc.get('last_sample')}):"] if cpu or mem else []
    if cpu:
        out.append("  - by CPU: " + ", ".join(
            f"{r.get('name')} (pid {_pids(r.get('pids'))}) avg "
            f"{_num(r.get('cpu_percent_avg')):.0f}% max {_num(r.get('cpu_percent_max')):.0f}%"
            f", seen {r.get('first_seen')} to {r.get('last_seen')}" for r in cpu))
    if mem:
        out.append("  - by memory: " + ", ".join(
            f"{r.get('name')} (pid {_pids(r.get('pids'))}) max "
            f"{_num(r.get('rss_bytes_max')) / _MB:.0f} MB" for r in mem))
    return out


def _pids(value: object) -> str:
    pids = [str(p) for p in value] if isinstance(value, list) else []
    return ", ".join(pids[:3]) + (f" +{len(pids) - 3}" if len(pids) > 3 else "")


def _drives(files: Mapping[str, bytes]) -> list[str]:
    doc = _need(files, "system.json")
    drives = _rows(doc, "configured_drives")
    if not drives and isinstance(doc, dict) and isinstance(doc.get("configured_drives"), dict):
        return [f"- summary incomplete: {_short(doc['configured_drives'].get('error'))}"]
    out: list[str] = []
    failing = _failing_disks(_soft(files, "health.json"))
    order = sorted(drives, key=lambda d: (d.get("path") not in failing, -_num(d.get("percent"))))
    for d in order[:_MAX_ROWS]:
        roles = ", ".join(str(r) for r in d.get("roles") or [])
        flag = f"**{failing[str(d.get('path'))]}**: " if d.get("path") in failing else ""
        if "error" in d:
            out.append(f"- {flag}{d.get('path')} ({roles}): {_short(d.get('error'), 120)}")
            continue
        out.append(f"- {flag}{d.get('path')} ({roles}): {_num(d.get('percent')):.1f}% used, "
                   f"{_size(_num(d.get('free_bytes')))} free of "
                   f"{_size(_num(d.get('total_bytes')))} ({d.get('fstype')} on "
                   f"{d.get('mountpoint')})" + ("" if d.get("exists", True) else
                                               "; the folder does not exist"))
    return out


def _size(n: float) -> str:
    """Bytes for a person: GB from 1 GB up (as before), MB or KB below (a nearly full
    small drive is not "0.0 GB free of 0.0 GB")."""
    if n >= _GB:
        return f"{n / _GB:.1f} GB"
    if n >= _MB:
        return f"{n / _MB:.1f} MB"
    return f"{n / 1024:.0f} KB"


def _failing_disks(health: Any) -> dict[str, str]:
    """Path -> "check name status" for each disk check that is not healthy."""
    current = health.get("current", health) if isinstance(health, dict) else None
    checks = current.get("checks") if isinstance(current, dict) else None
    out: dict[str, str] = {}
    for name, c in (checks or {}).items() if isinstance(checks, dict) else ():
        meta = c.get("metadata") if isinstance(c, dict) else None
        if isinstance(meta, dict) and meta.get("path") and not _healthy(c):
            out[str(meta["path"])] = f"{name} {c.get('status')}"
    return out


def _error_spans(files: Mapping[str, bytes]) -> list[str]:
    doc = _load(files, "traces/store.json")
    if doc is None:
        return ["- nothing (no trace store in the bundle)"]
    spans = [s for s in _rows(doc, "spans") if s.get("status") == "error"]
    out = [f"- {s.get('start')} {s.get('service')}: {s.get('name')}: "
           f"{_short(s.get('status_message') or '', 120)}" for s in spans[-_MAX_ROWS:]]
    if len(spans) > _MAX_ROWS:
        out.insert(0, f"- {len(spans)} error spans; the last {_MAX_ROWS}:")
    return out


def _editor_log(files: Mapping[str, bytes]) -> list[str]:
    hits: list[str] = []
    for name in sorted(n for n in files if n.startswith("editor-logs/")):
        text = files[name].decode("utf-8", errors="replace")
        short = name.removeprefix("editor-logs/")
        hits += [f"- {short}: `{_short(line, 180).replace('`', chr(39))}`"
                 for line in text.splitlines() if _LOG_ERROR.search(line)]
    return hits[-_MAX_LOG_LINES:]

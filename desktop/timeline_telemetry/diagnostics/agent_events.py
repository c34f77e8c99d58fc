"""What the agent's own log says happened: for a bundle made after the agent stopped.

A stopped agent cannot be asked for its exporters' state or its health transitions, but it
logged both as they happened (``AgentRuntime._watch_exporters``: "exporter NAME is failing:
DETAIL", "... is degraded: DETAIL", "... recovered (was ...)"; ``AgentRuntime._on_transition``:
"health: COMPONENT OLD -> NEW: MESSAGE"). :func:`agent_log_events` reads those records back
from the JSON-lines log (``logsetup.JsonLineFormatter``) within the bundle's window, so
``SUMMARY.md`` still names the failing exporter and when the health changed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .timefmt import local_rfc3339

__all__ = ["AgentLogEvents", "agent_log_events"]

_LABELS = "Unknown|Healthy|Warning|Unhealthy"
_HEALTH = re.compile(rf"^health: (?P<component>.+?) (?P<old>{_LABELS}) -> (?P<new>{_LABELS}): "
                     r"(?P<message>.*)$", re.DOTALL)
_FAILING = re.compile(r"^exporter (?P<name>\S+) is (?P<state>failing|degraded): (?P<detail>.*)$",
                      re.DOTALL)
_RECOVERED = re.compile(r"^exporter (?P<name>\S+) recovered \(was .*\)$", re.DOTALL)
#: The most bytes read from the end of each log file (the bundle's own cap is 8 MB).
_TAIL_BYTES = 8 * 1024 * 1024


@dataclass
class AgentLogEvents:
    """Exporters by name (``state``, ``detail``, ``last_error``, ``last_error_at``: the
    fields of ``/api/v1/status``) and health transitions (``when``, ``component``, ``old``,
    ``new``, ``message``: those of ``/api/v1/health``), as the agent logged them."""

    exporters: dict[str, dict[str, object]] = field(default_factory=dict)
    transitions: list[dict[str, object]] = field(default_factory=list)


def agent_log_events(files: Iterable[Path], *, start: float) -> AgentLogEvents:
    """The exporter changes and health transitions logged at or after ``start`` (Unix
    seconds) in ``files`` (oldest first); unreadable files and lines are skipped."""
    out = AgentLogEvents()
    for path in files:
        for when, msg in _records(path):
            if when < start:
                continue
            at = local_rfc3339(when)
            if m := _HEALTH.match(msg):
                out.transitions.append({"when": at, **m.groupdict()})
            elif m := _FAILING.match(msg):
                detail = m["detail"]
                state = "Failed" if m["state"] == "failing" else "Degraded"
                out.exporters[m["name"]] = {"state": state, "detail": detail,
                                            "last_error": detail, "last_error_at": at}
            elif m := _RECOVERED.match(msg):
                prev = out.exporters.get(m["name"], {})
                out.exporters[m["name"]] = {
                    "state": "Healthy", "detail": "",
                    "last_error": prev.get("last_error"),
                    "last_error_at": prev.get("last_error_at")}
    return out


def _records(path: Path) -> Iterable[tuple[float, str]]:
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
            when = dt.datetime.fromisoformat(str(rec["ts"]).replace("Z", "+00:00"))
            msg = rec["msg"]
        except (ValueError, KeyError, TypeError):
            continue  # a torn first line of the tail, or not ours
        if isinstance(msg, str) and when.tzinfo is not None:
            yield when.timestamp(), msg

"""The editor's work and the alerts as annotations on the time plots (Qt-free reading).

Render and export traces the editor sent to the OTLP receiver become shaded regions (start
to end of the root span), alert firings markers; read on the pool with the plots' data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from timeline_telemetry.ingest.trace_store import TraceStore, TraceSummary
from timeline_telemetry.ui.providers import AlertRow, AlertsView

__all__ = ["WORK", "Annotation", "is_work", "read_annotations"]

#: Root span names that are the editor's heavy work (shaded on the plots).
WORK = re.compile(r"render|export|encode|transcode|proxy", re.IGNORECASE)
#: Spans this long are shown whatever their name.
LONG_S = 10.0


@dataclass(frozen=True, slots=True)
class Annotation:
    """``kind`` ``work`` (a region from ``start`` to ``end``, Unix seconds) or ``alert``
    (a marker at ``start``); ``trace_id`` opens the waterfall (work only)."""

    kind: str
    start: float
    end: float
    label: str
    trace_id: str = ""
    error: bool = False

    @property
    def tip(self) -> str:
        """The hover text."""
        if self.kind == "alert":
            return f"{self.label}"
        secs = self.end - self.start
        status = "failed" if self.error else "ok"
        return (f"{self.label}: {secs:.1f} s, {status}\nClick to open it in the trace "
                "waterfall")


def is_work(trace: TraceSummary) -> bool:
    """A render/export (by its root span's name), or any trace lasting :data:`LONG_S`."""
    return bool(WORK.search(trace.root_name)) or trace.duration_s >= LONG_S


def read_annotations(store: TraceStore | None, alerts: AlertsView | None, *, end: float,
                     span: float, limit: int = 200) -> list[Annotation]:
    """The work traces and alert firings overlapping ``[end - span, end]``."""
    out: list[Annotation] = []
    start = end - span
    if store is not None:
        for t in store.traces(limit=limit):
            t0 = t.start_ns / 1e9
            t1 = t0 + t.duration_s
            if t1 >= start and t0 <= end and is_work(t):
                who = f" ({t.service})" if t.service else ""
                out.append(Annotation("work", t0, t1, f"{t.root_name}{who}", t.trace_id,
                                      t.errors > 0))
    if alerts is not None:
        rows: Sequence[AlertRow] = [*alerts.list_active(), *alerts.history(50)]
        for r in rows:
            if r.state in ("firing", "resolved") and start <= r.since <= end:
                out.append(Annotation("alert", r.since, r.since,
                                      f"Alert {r.name}: {r.state}"))
    return out

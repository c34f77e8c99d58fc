"""The local metric history: every collected sample in SQLite, downsampled as it ages.

Raw samples for the last hour, 1-minute buckets for a day, 15-minute buckets for the whole
``metrics.retention_period``; see :mod:`.store` and ``docs/history.md``.
"""

from __future__ import annotations

from .export_plan import ExportRange, resolution_plan
from .model import HistoryError, LabelMatcher, SeriesData, Stat, Tier
from .store import HistoryStore

__all__ = [
    "ExportRange",
    "HistoryError",
    "HistoryStore",
    "LabelMatcher",
    "SeriesData",
    "Stat",
    "Tier",
    "resolution_plan",
]

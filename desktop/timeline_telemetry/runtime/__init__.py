"""The one core runtime that the tray and ``run --headless`` both start (no Qt here).

:class:`AgentRuntime` owns every periodic job on one scheduler, serves the local API and
holds the home's instance lock; :mod:`.client` is the CLI's way to reach a running one.
Importing does no work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timeline_telemetry._lazy import lazy_attributes

if TYPE_CHECKING:
    from .agent import AgentRuntime
    from .events import (
        AlertNotice,
        ClockChanged,
        EventBus,
        ExporterChanged,
        HealthChanged,
        HealthRound,
        PausedChanged,
        RulesReloaded,
        RuntimeEvent,
        SnapshotCollected,
    )
    from .instance import AgentInfo, AlreadyRunning, find_running
    from .scheduler import Executor, Job, JobStats, Scheduler, ThreadExecutor

__all__ = [
    "AgentInfo",
    "AgentRuntime",
    "AlertNotice",
    "AlreadyRunning",
    "ClockChanged",
    "EventBus",
    "Executor",
    "ExporterChanged",
    "HealthChanged",
    "HealthRound",
    "Job",
    "JobStats",
    "PausedChanged",
    "RulesReloaded",
    "RuntimeEvent",
    "Scheduler",
    "SnapshotCollected",
    "ThreadExecutor",
    "find_running",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "AgentRuntime": ".agent",
        "AlertNotice": ".events",
        "EventBus": ".events",
        "ClockChanged": ".events",
        "ExporterChanged": ".events",
        "HealthChanged": ".events",
        "HealthRound": ".events",
        "PausedChanged": ".events",
        "RulesReloaded": ".events",
        "RuntimeEvent": ".events",
        "SnapshotCollected": ".events",
        "AgentInfo": ".instance",
        "AlreadyRunning": ".instance",
        "find_running": ".instance",
        "Executor": ".scheduler",
        "Job": ".scheduler",
        "JobStats": ".scheduler",
        "Scheduler": ".scheduler",
        "ThreadExecutor": ".scheduler",
    },
)

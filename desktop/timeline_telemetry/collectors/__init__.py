"""Collectors: machine, editor processes, NVIDIA GPU and the agent itself, behind one protocol.

Build them with :func:`build_collectors`; each returns :class:`Sample` values whose names are
declared in ``timeline_telemetry.metrics.catalog``.
"""

from __future__ import annotations

from .agent import AgentCollector
from .base import Collector, CollectorUnavailable, Sample
from .editor import EditorProcessCollector, EditorProcessView
from .gpu import NvidiaGpuCollector
from .registry import CollectorOptions, build_collectors
from .system import SystemCollector

__all__ = [
    "AgentCollector",
    "Collector",
    "CollectorOptions",
    "CollectorUnavailable",
    "EditorProcessCollector",
    "EditorProcessView",
    "NvidiaGpuCollector",
    "Sample",
    "SystemCollector",
    "build_collectors",
]

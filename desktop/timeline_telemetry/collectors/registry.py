"""Builds the collectors the config asks for, from one explicit tuple of factories."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .agent import AgentCollector
from .base import Collector, CollectorUnavailable
from .editor import EditorProcessCollector
from .gpu import NvidiaGpuCollector
from .system import SystemCollector

__all__ = ["FACTORIES", "CollectorFactory", "CollectorOptions", "build_collectors"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectorOptions:
    """What ``metrics.collectors`` and ``editor`` in the config say about collection."""

    system: bool
    per_cpu: bool
    gpu: bool
    disk_paths: tuple[str, ...]
    process_names: tuple[str, ...]
    rescan_interval: float


#: Returns a collector, or None when the options turn it off; may raise CollectorUnavailable.
CollectorFactory = Callable[[CollectorOptions], Collector | None]


def _system(o: CollectorOptions) -> Collector | None:
    if not o.system:
        return None
    return SystemCollector(disk_paths=o.disk_paths, per_cpu=o.per_cpu)


def _editor(o: CollectorOptions) -> Collector | None:
    if not any(n.strip() for n in o.process_names):
        return None
    return EditorProcessCollector(
        process_names=o.process_names, rescan_interval=o.rescan_interval
    )


def _gpu(o: CollectorOptions) -> Collector | None:
    return NvidiaGpuCollector() if o.gpu else None


def _agent(o: CollectorOptions) -> Collector | None:
    return AgentCollector()


#: ``(label, factory)`` in collection order; the label names the collector in log lines.
FACTORIES: tuple[tuple[str, CollectorFactory], ...] = (
    ("System", _system),
    ("Editor", _editor),
    ("GPU", _gpu),
    ("Agent", _agent),
)


def build_collectors(
    *,
    system: bool,
    per_cpu: bool,
    gpu: bool,
    disk_paths: Sequence[str],
    process_names: Sequence[str],
    rescan_interval: float,
    factories: Sequence[tuple[str, CollectorFactory]] = FACTORIES,
    render_active: Callable[[], bool] | None = None,
) -> list[Collector]:
    """The collectors to run, in order.

    ``system`` switches the machine-wide collector, ``gpu`` the NVIDIA one; the editor collector
    runs when ``process_names`` names anything, the agent's own always. A collector whose
    source is absent (``CollectorUnavailable``) is skipped with one INFO line
    (``GPU metrics off: <reason>``); one that fails to build for another reason is skipped with
    an ERROR line, so the rest still run.

    The GPU collector is given the editor collector's view (which pids are the editor's and
    its children's, for ``editor_gpu_*`` and the ``process_gpu_*`` roles) and
    ``render_active`` (whether the editor announced a render or export).
    """
    options = CollectorOptions(
        system=system,
        per_cpu=per_cpu,
        gpu=gpu,
        disk_paths=tuple(disk_paths),
        process_names=tuple(process_names),
        rescan_interval=rescan_interval,
    )
    out: list[Collector] = []
    for label, factory in factories:
        try:
            collector = factory(options)
        except CollectorUnavailable as exc:
            _log.info("%s metrics off: %s", label, exc)
            continue
        except Exception:
            _log.exception("%s metrics off: the collector could not start", label)
            continue
        if collector is not None:
            out.append(collector)
    editor = next((c for c in out if isinstance(c, EditorProcessCollector)), None)
    for c in out:
        if isinstance(c, NvidiaGpuCollector):
            c.attach(editor_view=editor.latest_view if editor is not None else None,
                     render_active=render_active)
    return out

"""The values of the health framework: statuses, results, transitions, reports, the protocol.

Numbers are the design document's (``system_health_status`` exports them): Unknown=0, Healthy=1,
Warning=2, Unhealthy=3. "Worst" is by severity, where Unknown (not checked yet) ranks between
Healthy and Warning: a component nobody has looked at is not known to be fine.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

__all__ = [
    "FunctionHealthCheck",
    "HealthCheck",
    "HealthCheckResult",
    "HealthReport",
    "HealthStatus",
    "HealthTransition",
    "worst",
]


class HealthStatus(enum.IntEnum):
    """The design document's ``HealthStatus``; the int value is what the ``*_health_status``
    gauges show."""

    UNKNOWN = 0
    HEALTHY = 1
    WARNING = 2
    UNHEALTHY = 3

    @property
    def label(self) -> str:
        """The design document's spelling: ``Unknown``, ``Healthy``, ``Warning``, ``Unhealthy``."""
        return self.name.capitalize()

    @property
    def severity(self) -> int:
        """Rank for "worst of": Healthy 0 < Unknown 1 < Warning 2 < Unhealthy 3."""
        return _SEVERITY[self]


_SEVERITY = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.UNKNOWN: 1,
    HealthStatus.WARNING: 2,
    HealthStatus.UNHEALTHY: 3,
}


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The most severe status (see :attr:`HealthStatus.severity`); Unknown when empty."""
    return max(statuses, key=lambda s: s.severity, default=HealthStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class HealthCheckResult:
    """One check's outcome (the design document's ``HealthCheckResult``).

    ``timestamp`` is wall-clock seconds when the check finished and ``check_duration`` its
    run time in seconds; the manager sets both from its own measurement, so a check may leave
    them at 0. ``metadata`` holds JSON-compatible values (numbers, strings, bools, lists).
    """

    status: HealthStatus
    message: str
    timestamp: float = 0.0
    check_duration: float = 0.0
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.metadata, MappingProxyType):
            object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def healthy(cls, message: str, **metadata: object) -> HealthCheckResult:
        """A Healthy result stamped now."""
        return cls(HealthStatus.HEALTHY, message, time.time(), 0.0, metadata)

    @classmethod
    def warning(cls, message: str, **metadata: object) -> HealthCheckResult:
        """A Warning result stamped now."""
        return cls(HealthStatus.WARNING, message, time.time(), 0.0, metadata)

    @classmethod
    def unhealthy(cls, message: str, **metadata: object) -> HealthCheckResult:
        """An Unhealthy result stamped now."""
        return cls(HealthStatus.UNHEALTHY, message, time.time(), 0.0, metadata)


@runtime_checkable
class HealthCheck(Protocol):
    """A health check: a ``name`` and a ``check()`` that returns a :class:`HealthCheckResult`.

    ``check`` may be a plain function or an ``async def`` (run on an event loop of its own in
    a worker thread, cancelled at the timeout). It runs on a worker thread, never two runs of
    one check at a time. Optional attributes read with ``getattr``: ``timeout`` (seconds,
    None = the manager's default) and ``kind`` (which ``*_health_status`` gauge it feeds:
    ``disk_space``, ``memory``, ``ffmpeg``, ``database``, ``external_api``; anything else
    only feeds ``health_check_status{check}``). Raising is allowed: it makes the check
    Unhealthy with the exception's message.
    """

    @property
    def name(self) -> str:
        """Unique within a manager; the ``check`` label of the per-check metrics."""
        ...

    def check(self) -> HealthCheckResult | Awaitable[HealthCheckResult]:
        """Look once and say how it is."""
        ...


class FunctionHealthCheck:
    """A check from a plain or async callable, for custom checks without a class."""

    def __init__(
        self,
        name: str,
        func: Callable[[], HealthCheckResult | Awaitable[HealthCheckResult]],
        *,
        timeout: float | None = None,
        kind: str = "custom",
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.kind = kind
        self._func = func

    def check(self) -> HealthCheckResult | Awaitable[HealthCheckResult]:
        """Call the function."""
        return self._func()


@dataclass(frozen=True, slots=True)
class HealthTransition:
    """A component's status changed: ``component`` is a check name, or ``system`` for the
    overall status. ``when`` is wall-clock seconds; ``seq`` increases by one per transition
    in a manager (use it to resume a stream without gaps or repeats)."""

    component: str
    old: HealthStatus
    new: HealthStatus
    when: float
    message: str
    seq: int


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check's latest result (in the order checks were added) and the overall status.

    ``kinds`` maps check name -> kind; ``fresh`` names the checks that ran to produce this
    report (the others came from the cache); ``completed_rounds`` counts rounds so far.
    """

    overall: HealthStatus
    results: Mapping[str, HealthCheckResult]
    kinds: Mapping[str, str]
    fresh: frozenset[str]
    completed_rounds: int
    timestamp: float

    @property
    def exit_code(self) -> int:
        """0 Healthy (or no checks), 1 Warning or Unknown, 2 Unhealthy (the ``check`` CLI)."""
        if not self.results or self.overall is HealthStatus.HEALTHY:
            return 0
        return 2 if self.overall is HealthStatus.UNHEALTHY else 1

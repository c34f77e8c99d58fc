"""IngestLimitsHealthCheck: Warning while the OTLP ingest limits bite.

The receiver (``ingest.limits.IngestRejections.hits``) says what it refused or cut; this
check turns that into a status: Warning while anything was refused or cut in the last
``window_s`` (default five minutes), naming the limit and an example, Healthy again once a
whole window passes without one. The editor is fine either way: only some of its telemetry
is not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import HealthCheckResult

__all__ = ["IngestLimitHit", "IngestLimitsHealthCheck"]


@dataclass(frozen=True, slots=True)
class IngestLimitHit:
    """One (signal, reason) the ingest limits hit: ``total`` items since start, ``recent``
    in the source's window, ``seconds_ago`` since the last one; ``limit_key`` is the config
    key (empty for a protocol rule such as span ids); ``example`` names a metric or
    attribute."""

    signal: str
    reason: str
    limit_key: str
    total: int
    recent: int
    seconds_ago: float
    example: str


class IngestLimitsHealthCheck:
    """Warning while ``source()`` reports a hit younger than ``window_s``; else Healthy."""

    kind = "ingest"

    def __init__(
        self,
        source: Callable[[], Sequence[IngestLimitHit]],
        *,
        window_s: float = 300.0,
        name: str = "ingest",
        timeout: float | None = None,
    ) -> None:
        self._source = source
        self.window_s = window_s
        self.name = name
        self.timeout = timeout

    def check(self) -> HealthCheckResult:
        """Read the receiver's hits once."""
        hits = list(self._source())
        meta: dict[str, object] = {f"{h.signal}.{h.reason}": h.total for h in hits}
        biting = [h for h in hits if h.seconds_ago <= self.window_s]
        minutes = f"{self.window_s / 60:g} min"
        if not biting:
            if hits:
                return HealthCheckResult.healthy(
                    f"no OTLP input refused or cut in the last {minutes} "
                    f"({sum(h.total for h in hits)} since start)", **meta)
            return HealthCheckResult.healthy("every OTLP item received within the limits",
                                             **meta)
        biting.sort(key=lambda h: -h.recent)
        parts = [
            f"{h.signal} {h.reason}: {h.recent or h.total}"
            + (f" (limit {h.limit_key})" if h.limit_key else "")
            + (f", e.g. {h.example}" if h.example else "")
            for h in biting
        ]
        return HealthCheckResult.warning(
            f"OTLP ingest limits refused or cut input in the last {minutes}: "
            + "; ".join(parts), **meta)

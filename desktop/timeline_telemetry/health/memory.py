"""MemoryHealthCheck: how much of the machine's RAM is in use."""

from __future__ import annotations

from types import ModuleType

import psutil

from .model import HealthCheckResult, HealthStatus
from .units import human_bytes, limit_status

__all__ = ["MemoryHealthCheck"]


class MemoryHealthCheck:
    """Unhealthy when ``max_used_fraction`` of RAM is in use (design document: 0.8), Warning from
    ``warning_margin`` below. In use = total minus available (what programs can still get
    without swapping), the same as ``system_memory_usage_bytes``."""

    kind = "memory"

    def __init__(
        self,
        max_used_fraction: float = 0.8,
        *,
        warning_margin: float = 0.05,
        name: str = "memory",
        timeout: float | None = None,
        psutil_module: ModuleType = psutil,
    ) -> None:
        if not 0 < max_used_fraction <= 1:
            raise ValueError(f"max_used_fraction must be in (0, 1], got {max_used_fraction!r}")
        if not 0 <= warning_margin < 1:
            raise ValueError(f"warning_margin must be in [0, 1), got {warning_margin!r}")
        self.max_used_fraction = max_used_fraction
        self.warning_margin = warning_margin
        self.name = name
        self.timeout = timeout
        self._ps = psutil_module

    def check(self) -> HealthCheckResult:
        """Read the memory counters once."""
        vm = self._ps.virtual_memory()
        total, available = int(vm.total), int(vm.available)
        used = max(0, total - available)
        fraction = used / total if total > 0 else 1.0
        status = limit_status(fraction, self.max_used_fraction, self.warning_margin)
        message = (f"{fraction:.1%} of {human_bytes(total)} in use "
                   f"(limit {self.max_used_fraction:.0%}), {human_bytes(available)} available")
        if status is HealthStatus.UNHEALTHY:
            message = f"memory nearly exhausted: {message}"
        elif status is HealthStatus.WARNING:
            message = f"memory getting low: {message}"
        return HealthCheckResult(status, message, metadata={
            "total_bytes": total, "available_bytes": available, "used_bytes": used,
            "used_fraction": round(fraction, 6), "max_used_fraction": self.max_used_fraction,
        })

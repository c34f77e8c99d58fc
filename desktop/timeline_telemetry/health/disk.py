"""DiskSpaceHealthCheck: the used fraction of the drive holding a path, and footage hours."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import psutil

from .model import HealthCheckResult, HealthStatus
from .units import human_bytes, limit_status

__all__ = ["DiskSpaceHealthCheck", "DiskUsage"]


class DiskUsage(NamedTuple):
    """Bytes of one filesystem; ``used + free`` is what users can have (reserved blocks out)."""

    total: int
    used: int
    free: int


def _psutil_usage(path: str) -> DiskUsage:
    u = psutil.disk_usage(path)
    return DiskUsage(int(u.total), int(u.used), int(u.free))


class DiskSpaceHealthCheck:
    """Unhealthy when the drive holding ``path`` is ``max_used_fraction`` full (design
    document: ``/tmp``, 0.9), Warning from ``warning_margin`` below that. The used fraction is
    ``used / (used + free)``, as ``df`` shows it. With ``footage_bitrate_mbps`` (a media drive)
    the free space is also given as hours of footage at that bitrate (``footage_hours`` in the
    metadata).

    A missing ``path`` is Unhealthy (an unmounted media drive), unless ``nearest_existing``:
    then its nearest existing parent is measured (the agent's data dir before first use).
    ``disk_usage`` is the measuring service (psutil's by default).
    """

    kind = "disk_space"

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_used_fraction: float = 0.9,
        *,
        warning_margin: float = 0.05,
        footage_bitrate_mbps: float | None = None,
        nearest_existing: bool = False,
        name: str | None = None,
        timeout: float | None = None,
        disk_usage: Callable[[str], DiskUsage] = _psutil_usage,
    ) -> None:
        if not 0 < max_used_fraction <= 1:
            raise ValueError(f"max_used_fraction must be in (0, 1], got {max_used_fraction!r}")
        if not 0 <= warning_margin < 1:
            raise ValueError(f"warning_margin must be in [0, 1), got {warning_margin!r}")
        if footage_bitrate_mbps is not None and not footage_bitrate_mbps > 0:
            raise ValueError(f"footage_bitrate_mbps must be > 0, got {footage_bitrate_mbps!r}")
        self.path = Path(path)
        self.max_used_fraction = max_used_fraction
        self.warning_margin = warning_margin
        self.footage_bitrate_mbps = footage_bitrate_mbps
        self.nearest_existing = nearest_existing
        self.name = name or f"disk:{self.path}"
        self.timeout = timeout
        self._usage = disk_usage

    def check(self) -> HealthCheckResult:
        """Measure the drive once."""
        target = self._target()
        if target is None:
            return HealthCheckResult.unhealthy(
                f"{self.path} does not exist (drive not mounted?)", path=str(self.path))
        u = self._usage(str(target))
        usable = u.used + u.free
        fraction = u.used / usable if usable > 0 else 1.0
        status = limit_status(fraction, self.max_used_fraction, self.warning_margin)
        message = (f"{fraction:.1%} used (limit {self.max_used_fraction:.0%}), "
                   f"{human_bytes(u.free)} free of {human_bytes(u.total)}")
        meta: dict[str, object] = {
            "path": str(self.path), "measured_path": str(target), "total_bytes": u.total,
            "used_bytes": u.used, "free_bytes": u.free, "used_fraction": round(fraction, 6),
            "max_used_fraction": self.max_used_fraction,
        }
        if self.footage_bitrate_mbps is not None:
            hours = u.free * 8 / (self.footage_bitrate_mbps * 1e6) / 3600
            meta["footage_hours"] = round(hours, 2)
            meta["footage_bitrate_mbps"] = self.footage_bitrate_mbps
            message += f", about {hours:.1f} h of footage at {self.footage_bitrate_mbps:g} Mbit/s"
        if status is HealthStatus.UNHEALTHY:
            message = f"drive nearly full: {message}"
        elif status is HealthStatus.WARNING:
            message = f"drive filling up: {message}"
        return HealthCheckResult(status, message, metadata=meta)

    def _target(self) -> Path | None:
        if self.path.exists():
            return self.path
        if not self.nearest_existing:
            return None
        for parent in self.path.parents:
            if parent.exists():
                return parent
        return None

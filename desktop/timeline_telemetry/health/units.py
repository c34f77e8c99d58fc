"""Small shared helpers of the built-in checks: limits with a warning margin, sizes, uptimes."""

from __future__ import annotations

from .model import HealthStatus

__all__ = ["human_bytes", "human_duration", "limit_status"]


def limit_status(value: float, limit: float, margin: float) -> HealthStatus:
    """Unhealthy at or above ``limit``, Warning from ``limit - margin``, else Healthy."""
    if value >= limit:
        return HealthStatus.UNHEALTHY
    if value >= limit - margin:
        return HealthStatus.WARNING
    return HealthStatus.HEALTHY


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB`` (binary units, one decimal)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"  # pragma: no cover (loop always returns)


def human_duration(seconds: float) -> str:
    """``3723`` -> ``1h 2m``; under a minute in seconds."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {s}s"
    return f"{s}s"

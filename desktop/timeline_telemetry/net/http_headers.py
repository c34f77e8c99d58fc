"""Reading the response headers that every pushing client (trace and log exporters,
remote write) acts on the same way."""

from __future__ import annotations

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` header in seconds (the delta form; an HTTP date is read as
    "no hint")."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None

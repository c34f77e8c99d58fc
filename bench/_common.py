"""Shared helpers for the bench scripts: interleaved rounds and ratio reporting."""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable


def ns_per_call(fn: Callable[[], object], n: int) -> float:
    """Nanoseconds per call of ``fn`` over ``n`` calls (loop overhead included, as for peers)."""
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def interleaved(
    cases: dict[str, Callable[[], object]], *, rounds: int, n: int
) -> dict[str, list[float]]:
    """Run every case once per round, alternating, so drift on a shared machine hits all."""
    results: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        ns_per_call(fn, max(1, n // 10))  # warm-up
    for _ in range(rounds):
        for name, fn in cases.items():
            results[name].append(ns_per_call(fn, n))
    return results


def ratio_line(label: str, ours: list[float], peer: list[float]) -> str:
    ratios = [o / p for o, p in zip(ours, peer, strict=True)]
    return (
        f"{label:<58} median {statistics.median(ratios):5.2f}x "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


def machine_line() -> str:
    return f"python {sys.version.split()[0]} on {platform.platform()} ({platform.machine()})"

"""Shared values of the alerting tests: repo paths and the HTTP capture record."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROM_DIR = REPO / "resources" / "prometheus"
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))


@dataclass
class Capture:
    """Requests received by a :func:`capture_server`; ``statuses`` are answered in order
    (then 200/202)."""

    url: str
    bodies: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, n: int, timeout: float = 10.0) -> list[Any]:
        """Block until ``n`` bodies arrived (condition wait with a deadline)."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.bodies) >= n, timeout), (
                f"got {len(self.bodies)} of {n} requests")
            return list(self.bodies)

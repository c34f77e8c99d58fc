"""Helpers of the health tests (fixtures are in conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import psutil

from timeline_telemetry.health import HealthCheckResult


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``predicate`` until true or the deadline (never a bare sleep for sync)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)
    return True


class Gate:
    """A check body that blocks until released (a hung dependency), counting its calls."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.entered = threading.Event()

    def __call__(self) -> HealthCheckResult:
        self.calls += 1
        self.entered.set()
        self.release.wait(30)
        return HealthCheckResult.healthy("released")


class CountingPsutil(ModuleType):
    """The real psutil, counting full process scans (``process_iter`` calls)."""

    def __init__(self) -> None:
        super().__init__("counting_psutil")
        self.scans = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)

    def process_iter(self, *args: Any, **kwargs: Any) -> Any:
        self.scans += 1
        return psutil.process_iter(*args, **kwargs)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class LocalServer:
    """``mode``: ``ok`` (200), ``status:<code>``, or ``hang`` (no answer until released)."""

    url: str
    mode: str = "ok"
    release: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

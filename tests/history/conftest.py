"""Fixtures for the history tests: a settable clock and stores on real SQLite files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics.model import FlatSample

#: A round start time: 2023-11-14T22:00:00Z, on a 15-minute boundary.
T0 = 1_700_000_000.0 - 1_700_000_000.0 % 900


class FakeClock:
    """``time.time`` stand-in that only moves when told."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


StoreFactory = Callable[..., HistoryStore]


@pytest.fixture
def make_store(tmp_path: Path, clock: FakeClock) -> Iterator[StoreFactory]:
    """``make_store(**kwargs)`` opens ``tmp_path/history.sqlite3``; all are closed after."""
    opened: list[HistoryStore] = []

    def factory(path: Path | None = None, **kwargs: object) -> HistoryStore:
        kwargs.setdefault("retention", 7 * 86400.0)
        kwargs.setdefault("clock", clock)
        store = HistoryStore(path or tmp_path / "history.sqlite3", **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


Feed = Callable[..., int]


@pytest.fixture
def feed(clock: FakeClock) -> Feed:
    """``feed(store, start=, end=, step=, samples=fn)``: see :func:`_feed`."""

    def run(store: HistoryStore, **kwargs: object) -> int:
        return _feed(store, clock, **kwargs)  # type: ignore[arg-type]

    return run


def _feed(
    store: HistoryStore,
    clock: FakeClock,
    *,
    start: float,
    end: float,
    step: float,
    samples: Callable[[float], list[FlatSample]],
) -> int:
    """One append+flush per ``step`` in ``[start, end)``, the clock following; returns count."""
    n = 0
    ts = start
    while ts < end:
        clock.now = ts
        store.append(ts, samples(ts))
        store.flush()
        n += 1
        ts = start + n * step
    return n

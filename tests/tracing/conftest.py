"""Fixtures for the tracing tests: a real upstream OTLP receiver, a Metrics instance, and
tracers built by ``build_tracer`` that are shut down after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from otlp_upstream import UpstreamReceiver

from timeline_telemetry.config.schema import TracingConfig
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.tracing import Tracer, build_tracer


@pytest.fixture
def upstream() -> Iterator[UpstreamReceiver]:
    server = UpstreamReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def tracers(metrics: Metrics) -> Iterator[Callable[..., Tracer]]:
    """``build_tracer(cfg, metrics=metrics, **kw)``; every tracer made is shut down after."""
    made: list[Tracer] = []

    def make(cfg: TracingConfig, **kw: Any) -> Tracer:
        t = build_tracer(cfg, metrics=metrics, **kw)
        made.append(t)
        return t

    try:
        yield make
    finally:
        for t in made:
            t.shutdown(timeout_s=2)

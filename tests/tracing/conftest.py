"""Fixtures for the tracing tests: a real upstream OTLP receiver, a Metrics instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from otlp_upstream import UpstreamReceiver

from timeline_telemetry.metrics import Metrics


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

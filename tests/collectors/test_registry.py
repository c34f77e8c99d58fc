"""Building the collector set from config values."""

from __future__ import annotations

import logging

import pytest

import timeline_telemetry.collectors as collectors
from timeline_telemetry.collectors import (
    AgentCollector,
    Collector,
    CollectorUnavailable,
    EditorProcessCollector,
    SystemCollector,
    build_collectors,
)
from timeline_telemetry.collectors.registry import FACTORIES, CollectorOptions

BASE = dict(per_cpu=True, disk_paths=["/"], process_names=["timeline-studio"],
            rescan_interval=30.0)


def test_everything_on_without_a_gpu_logs_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="timeline_telemetry.collectors"):
        cols = build_collectors(system=True, gpu=True, **BASE)  # type: ignore[arg-type]
    assert [type(c) for c in cols] == [SystemCollector, EditorProcessCollector, AgentCollector]
    assert all(isinstance(c, Collector) for c in cols)
    gpu_lines = [r for r in caplog.records if r.getMessage().startswith("GPU metrics off: ")]
    assert len(gpu_lines) == 1 and gpu_lines[0].levelno == logging.INFO
    for c in cols:
        c.collect()
        c.close()


def test_switches_turn_collectors_off() -> None:
    cols = build_collectors(system=False, per_cpu=False, gpu=False, disk_paths=[],
                            process_names=[], rescan_interval=30.0)
    assert [c.name for c in cols] == ["agent"]


def test_a_factory_that_breaks_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(o: CollectorOptions) -> Collector | None:
        raise OSError("boom")

    def unavailable(o: CollectorOptions) -> Collector | None:
        raise CollectorUnavailable("not here")

    factories = (("Broken", broken), ("Odd", unavailable), *FACTORIES)
    with caplog.at_level(logging.INFO, logger="timeline_telemetry.collectors"):
        cols = build_collectors(system=True, gpu=False, factories=factories, **BASE)  # type: ignore[arg-type]
    assert [c.name for c in cols] == ["system", "editor", "agent"]
    messages = {r.getMessage(): r.levelno for r in caplog.records}
    assert messages["Odd metrics off: not here"] == logging.INFO
    assert messages["Broken metrics off: the collector could not start"] == logging.ERROR


def test_package_exports_what_all_names() -> None:
    for name in collectors.__all__:
        assert hasattr(collectors, name), name

"""The ``ingest`` check: Warning while the OTLP ingest limits bite, Healthy again after."""

from __future__ import annotations

from pathlib import Path

from timeline_telemetry.config.schema import EditorConfig, HealthConfig
from timeline_telemetry.health import (
    HealthStatus,
    IngestLimitHit,
    IngestLimitsHealthCheck,
    build_health_checks,
)
from timeline_telemetry.ingest.limits import IngestRejections
from timeline_telemetry.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_healthy_until_a_limit_bites_then_healthy_after_the_window() -> None:
    clock = Clock()
    rej = IngestRejections(Metrics(), clock=clock, window_s=300)
    check = IngestLimitsHealthCheck(rej.hits, window_s=300)
    first = check.check()
    assert first.status is HealthStatus.HEALTHY
    assert "within the limits" in first.message

    rej.record("metrics", "series", 40, "metric 'flood_1' of service 'editor'")
    rej.record("traces", "invalid_id", 2, "span 'x': trace id of 3 bytes (must be 16)")
    biting = check.check()
    assert biting.status is HealthStatus.WARNING
    assert "metrics series: 40 (limit telemetry.ingest.limits.max_series)" in biting.message
    assert "'flood_1'" in biting.message and "traces invalid_id: 2" in biting.message
    assert biting.metadata["metrics.series"] == 40

    clock.now += 200
    assert check.check().status is HealthStatus.WARNING
    clock.now += 200
    after = check.check()
    assert after.status is HealthStatus.HEALTHY
    assert "42 since start" in after.message


def test_built_with_the_receiver_only(tmp_path: Path) -> None:
    def hits() -> list[IngestLimitHit]:
        return []

    kw = {"data_dir": tmp_path, "editor_config": EditorConfig(), "export_status": None}
    names = [c.name for c in build_health_checks(HealthConfig(checks=()), **kw)]
    assert "ingest" not in names
    checks = build_health_checks(HealthConfig(checks=()), ingest_status=hits, **kw)
    assert [c.name for c in checks] == ["ingest"]
    assert getattr(checks[0], "kind", None) == "ingest"

"""StatusTracker: the rules every exporter's status follows."""

from __future__ import annotations

import pytest

from timeline_telemetry.export.base import ExportState, ExportStatus
from timeline_telemetry.export.status import StatusTracker


def test_failures_after_success_degrade_then_fail_and_success_heals() -> None:
    t = StatusTracker()
    t.success()
    assert t.status() == ExportStatus.healthy()
    t.failure("disk full")
    assert t.status().state is ExportState.DEGRADED
    assert "1 consecutive failure: disk full" in t.status().detail
    t.failure("disk full")
    assert t.status().state is ExportState.DEGRADED
    assert "2 consecutive failures" in t.status().detail
    t.failure("disk full")
    assert t.status() == ExportStatus.failed("disk full")
    assert (t.errors, t.consecutive_failures) == (3, 3)
    t.success()
    assert t.status() == ExportStatus.healthy()
    assert (t.errors, t.consecutive_failures) == (3, 0)


def test_first_failure_without_any_success_is_failed() -> None:
    t = StatusTracker(initial=ExportStatus.degraded("not started"))
    assert str(t.status()) == "Degraded(not started)"
    t.failure("permission denied")
    assert t.status() == ExportStatus.failed("permission denied")


def test_fatal_fails_at_once_even_after_success() -> None:
    t = StatusTracker()
    t.success()
    t.fatal("cannot bind")
    assert str(t.status()) == "Failed(cannot bind)"
    assert t.last_error == "cannot bind"


def test_failed_after_is_validated() -> None:
    with pytest.raises(ValueError, match="failed_after"):
        StatusTracker(failed_after=0)

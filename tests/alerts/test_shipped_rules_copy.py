"""The rules shipped inside the package are the ones in resources/ (edit both together)."""

from __future__ import annotations

from pathlib import Path

from timeline_telemetry.alerts import SHIPPED_RULES

REPO = Path(__file__).resolve().parents[2]


def test_packaged_rules_match_resources() -> None:
    assert SHIPPED_RULES.read_bytes() == (
        REPO / "resources" / "prometheus" / "alert_rules.yml"
    ).read_bytes(), "copy resources/prometheus/alert_rules.yml to alerts/rules/ (or back)"

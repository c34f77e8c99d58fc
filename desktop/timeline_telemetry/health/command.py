"""``timeline-telemetry check``: every configured check once, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from timeline_telemetry.config.schema import TelemetryConfig

from .build import build_health_checks
from .manager import HealthCheckManager
from .model import HealthReport
from .routes import report_to_json

__all__ = ["run_check_command"]

_MESSAGE_WIDTH = 100


def run_check_command(
    config: TelemetryConfig, *, as_json: bool, out: TextIO, data_dir: Path
) -> int:
    """Run ``config``'s checks once (even with ``health.enabled`` false: the user asked) and
    print them; returns 0 Healthy, 1 Warning (or Unknown), 2 Unhealthy.

    The exporter check is left out: no exporter runs in this one-shot process. Takes at most
    the sum of the checks' timeouts (their maximum with ``parallel_checks``).
    """
    checks = build_health_checks(config.health, data_dir=data_dir,
                                 editor_config=config.editor, export_status=None)
    manager = HealthCheckManager.from_config(config.health)
    try:
        for check in checks:
            manager.add_check(check)
        report = manager.check_all(force=True)
    finally:
        manager.stop(timeout_s=1.0)
    if as_json:
        json.dump(report_to_json(report), out, indent=2, default=str)
        out.write("\n")
    else:
        _print_table(report, out)
    return report.exit_code


def _print_table(report: HealthReport, out: TextIO) -> None:
    rows = [("CHECK", "STATUS", "TIME", "MESSAGE")]
    for name, r in report.results.items():
        message = r.message if len(r.message) <= _MESSAGE_WIDTH else (
            r.message[:_MESSAGE_WIDTH - 3] + "...")
        rows.append((name, r.status.label, _ms(r.check_duration), message))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        out.write("  ".join([*cells, row[3]]).rstrip() + "\n")
    if not report.results:
        out.write("no health checks configured (telemetry.health.checks is empty)\n")
    out.write(f"overall: {report.overall.label}\n")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"

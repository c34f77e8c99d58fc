"""``/health``, ``/health/live`` and ``/health/ready`` for the local HTTP server.

Handlers never wait for a running round: while the periodic loop runs (or a round is in
progress) they answer from the latest results; otherwise ``/health`` runs the due checks
(cached for ``cache_ttl``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from timeline_telemetry.net.http_server import Request, Response, RouteHandler

from .manager import HealthCheckManager
from .model import HealthReport, HealthStatus

__all__ = ["health_routes", "report_to_json"]

_JSON = "application/json; charset=utf-8"
_NO_STORE = ("Cache-Control", "no-store")


def report_to_json(report: HealthReport, *, now: float | None = None) -> dict[str, object]:
    """The ``/health`` body (also ``check --json``): overall status and every check with its
    status, message, duration, age (seconds since it finished) and metadata."""
    now = time.time() if now is None else now
    checks: dict[str, object] = {}
    for name, r in report.results.items():
        ran = r.timestamp > 0
        checks[name] = {
            "status": r.status.label,
            "status_code": int(r.status),
            "message": r.message,
            "kind": report.kinds.get(name, "custom"),
            "duration_seconds": round(r.check_duration, 6),
            "age_seconds": round(max(0.0, now - r.timestamp), 3) if ran else None,
            "timestamp": r.timestamp if ran else None,
            "metadata": dict(r.metadata),
        }
    return {
        "status": report.overall.label,
        "status_code": int(report.overall),
        "timestamp": report.timestamp,
        "completed_rounds": report.completed_rounds,
        "checks": checks,
    }


def health_routes(
    manager: HealthCheckManager, *, on_demand: bool = True
) -> dict[str, RouteHandler]:
    """Path -> handler, for ``LocalHttpServer.add_route``.

    ``on_demand``: with no loop running, a request runs the due checks itself. The agent
    passes False: its runtime schedules the rounds (and may be paused), so a request only
    reads the latest results and never runs a check on the connection's thread.

    ``/health``: JSON, 200 when Healthy, Warning or Unknown (nothing failed), 503 when
    Unhealthy. ``/health/live``: 200 while the process can answer. ``/health/ready``: 200
    once a round has completed and the overall status is not Unhealthy, else 503.
    """

    def current() -> HealthReport:
        if not on_demand or manager.running or manager.round_in_progress:
            return manager.report()
        return manager.check_all()

    def health(_req: Request) -> Response:
        report = current()
        code = 503 if report.overall is HealthStatus.UNHEALTHY else 200
        body = json.dumps(report_to_json(report), default=str, indent=2).encode("utf-8") + b"\n"
        return Response(code, body, _JSON, (_NO_STORE,))

    def live(_req: Request) -> Response:
        return Response.text(200, "alive\n", _NO_STORE)

    def ready(_req: Request) -> Response:
        report = manager.report()
        if report.completed_rounds == 0:
            return Response.text(503, "not ready: no health round has completed yet\n", _NO_STORE)
        if report.overall is HealthStatus.UNHEALTHY:
            bad = [n for n, r in report.results.items() if r.status is HealthStatus.UNHEALTHY]
            return Response.text(503, f"not ready: unhealthy: {', '.join(bad)}\n", _NO_STORE)
        return Response.text(200, f"ready: {report.overall.label}\n", _NO_STORE)

    routes: dict[str, Callable[[Request], Response]] = {
        "/health": health,
        "/health/live": live,
        "/health/ready": ready,
    }
    return routes

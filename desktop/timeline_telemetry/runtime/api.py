"""The agent's local read-only API, served beside ``/metrics`` on its 127.0.0.1 listener.

``/api/v1/alerts`` and ``/api/v1/rules`` answer exactly as Prometheus's HTTP API does
(``{"status": "success", "data": ...}``); ``/api/v1/status`` and ``/api/v1/health`` have no
Prometheus counterpart and use the same envelope. GET and HEAD only: nothing here changes
the agent. The CLI's ``status`` and ``bundle`` read these from another process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from timeline_telemetry.net.http_server import Request, Response, RouteHandler

__all__ = ["API_PATHS", "api_routes", "envelope"]

API_PATHS = ("/api/v1/status", "/api/v1/alerts", "/api/v1/rules", "/api/v1/health")


def envelope(data: object) -> bytes:
    """Prometheus's success envelope around ``data``."""
    return json.dumps({"status": "success", "data": data}, separators=(",", ":"),
                      allow_nan=False, default=str).encode("utf-8")


def _handler(produce: Callable[[], object]) -> RouteHandler:
    def handle(_req: Request) -> Response:
        try:
            body = envelope(produce())
        except Exception as exc:  # a bug here must not take the listener down
            err = {"status": "error", "errorType": "internal",
                   "error": f"{type(exc).__name__}: {exc}"}
            return Response(500, json.dumps(err).encode("utf-8"), "application/json")
        return Response(200, body, "application/json")

    return handle


def api_routes(producers: Mapping[str, Callable[[], object]]) -> dict[str, RouteHandler]:
    """Route handlers for the paths in ``producers`` (each returns the ``data`` part)."""
    return {path: _handler(produce) for path, produce in producers.items()}

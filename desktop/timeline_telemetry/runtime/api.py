"""The agent's local read-only API, served beside ``/metrics`` on its 127.0.0.1 listener.

``/api/v1/alerts`` and ``/api/v1/rules`` answer exactly as Prometheus's HTTP API does
(``{"status": "success", "data": ...}``); ``/api/v1/status`` and ``/api/v1/health`` have no
Prometheus counterpart and use the same envelope, as does ``/api/v1/traces?since=&limit=``
(the trace store's spans, error spans first; see :func:`traces_route`), ``/api/v1/diagnose``
(each configured upstream tried once), ``/api/v1/threads`` (a thread dump) and
``/api/v1/processes/top?since=`` (the busiest processes sampled over the last hours; see
:func:`since_route`). These are GET and HEAD only. The one
route that changes the agent is Prometheus's ``POST /-/reload`` (re-read the rule files),
answered only to loopback clients. The CLI's ``status`` and ``bundle`` read the API from
another process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from timeline_telemetry.net.http_server import Request, Response, RouteHandler

__all__ = [
    "API_PATHS",
    "DIAGNOSE_PATH",
    "RELOAD_PATH",
    "THREADS_PATH",
    "TOP_PROCESSES_PATH",
    "TRACES_DEFAULT_LIMIT",
    "TRACES_PATH",
    "api_routes",
    "envelope",
    "reload_route",
    "since_route",
    "traces_route",
]

API_PATHS = ("/api/v1/status", "/api/v1/alerts", "/api/v1/rules", "/api/v1/health")
#: The trace store's spans (``since``: Unix seconds; ``limit``: at most that many spans).
TRACES_PATH = "/api/v1/traces"
TRACES_DEFAULT_LIMIT = 1000
#: Each configured upstream tried once, exporters' status, receiver counts (at most ~5 s).
DIAGNOSE_PATH = "/api/v1/diagnose"
#: Every thread of the agent with its innermost frames.
THREADS_PATH = "/api/v1/threads"
#: The top processes by CPU and memory, sampled every 30 s over the last 2 h (``since``:
#: Unix seconds).
TOP_PROCESSES_PATH = "/api/v1/processes/top"
#: Prometheus's lifecycle endpoint (POST only).
RELOAD_PATH = "/-/reload"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


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


def _bad_data(message: str) -> Response:
    err = {"status": "error", "errorType": "bad_data", "error": message}
    return Response(400, json.dumps(err).encode("utf-8"), "application/json")


def _since(params: Mapping[str, list[str]]) -> float | None:
    """``since`` as Unix seconds >= 0 (default 0), None when it is not."""
    try:
        since = float(params.get("since", ["0"])[-1])
    except ValueError:
        return None
    return since if math.isfinite(since) and since >= 0 else None


def since_route(produce: Callable[[float], object]) -> RouteHandler:
    """``GET <path>?since=<Unix seconds>``: ``produce(since)`` in the envelope; ``since``
    defaults to 0 (everything kept); a bad value is a 400 (``bad_data``)."""

    def handle(req: Request) -> Response:
        since = _since(parse_qs(req.query, keep_blank_values=False))
        if since is None:
            return _bad_data("since: expected Unix seconds >= 0")
        return _handler(lambda: produce(since))(req)

    return handle


def traces_route(spans: Callable[[float, int], object], *, max_limit: int) -> RouteHandler:
    """``GET /api/v1/traces?since=<Unix seconds>&limit=<n>``: ``spans(since, limit)`` in
    the envelope. ``since`` defaults to 0 (everything kept), ``limit`` to
    :data:`TRACES_DEFAULT_LIMIT` and is capped at ``max_limit``; a bad value is a 400
    (``bad_data``), as Prometheus answers a bad parameter."""

    def handle(req: Request) -> Response:
        params = parse_qs(req.query, keep_blank_values=False)
        since = _since(params)
        if since is None:
            return _bad_data("since: expected Unix seconds >= 0")
        try:
            limit = int(params.get("limit", [str(TRACES_DEFAULT_LIMIT)])[-1])
            if limit < 0:
                raise ValueError
        except ValueError:
            return _bad_data("limit: expected an integer >= 0")
        return _handler(lambda: spans(since, min(limit, max_limit)))(req)

    return handle


def reload_route(reload: Callable[[], str | None]) -> RouteHandler:
    """``POST /-/reload`` as Prometheus answers it: 200 with an empty body when ``reload()``
    returns None (it worked), 500 with the error text it returned otherwise. A client that
    is not on the loopback gets 403: the listener may be bound wider than 127.0.0.1."""

    def handle(req: Request) -> Response:
        if req.client[0] not in _LOOPBACK:
            return Response.text(403, "reload is only accepted from 127.0.0.1 or ::1\n")
        error = reload()
        if error is None:
            return Response.text(200, "")
        return Response.text(500, f"failed to reload rules: {error}\n")

    return handle

"""HttpHealthCheck: the design document's external API check, with urllib (no extra dependency)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from timeline_telemetry.config.secrets import SecretError, is_secret_ref, resolve_secret
from timeline_telemetry.net.urls import redact_url

from .model import HealthCheckResult

if TYPE_CHECKING:  # urllib.request brings http.client, email and ssl (~5 MB): first check
    import urllib.request

__all__ = ["HttpHealthCheck"]

_GRACE = 0.5  # the socket gives up this long after the manager has, freeing the thread


class HttpHealthCheck:
    """GET ``url``: Healthy when it answers ``expected_status`` within ``latency_warning``
    seconds, Warning when slower, Unhealthy on another status, a connection error or a timeout.

    The request's socket timeout is ``timeout`` (or ``request_timeout``) plus a short grace, so
    the manager reports the timeout and the worker is free right after. Messages show the URL
    without credentials or query. ``opener`` is the urllib opener (proxies from the
    environment by default).

    ``url`` may be an ``env:NAME`` / ``keyring:NAME`` reference (the README promises them in
    any string): it is resolved at every check (``environ`` / ``keyring_get``) and checked
    as a URL then; a reference that is missing or holds no URL makes the check Unhealthy
    with a message naming the ``url`` field, never its value.
    """

    kind = "external_api"

    def __init__(
        self,
        url: str,
        *,
        expected_status: int = 200,
        latency_warning: float = 1.0,
        name: str | None = None,
        timeout: float | None = None,
        request_timeout: float = 5.0,
        opener: urllib.request.OpenerDirector | None = None,
        clock: Callable[[], float] = time.perf_counter,
        environ: Mapping[str, str] = os.environ,
        keyring_get: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self._ref = url if is_secret_ref(url) else None
        self._environ = environ
        self._keyring_get = keyring_get
        parts = urlsplit("http://unresolved" if self._ref else url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL, got {redact_url(url)!r}")
        self.url = url
        self.expected_status = expected_status
        self.latency_warning = latency_warning
        self.name = name or (f"http:{self._ref}" if self._ref else
                             f"http:{parts.hostname}" + (f":{parts.port}" if parts.port else ""))
        self.timeout = timeout
        self._request_timeout = (timeout or request_timeout) + _GRACE
        self._opener = opener
        self._clock = clock
        self._shown = url if self._ref else redact_url(url)

    def _target(self) -> str | HealthCheckResult:
        """The URL to GET, or the Unhealthy result saying why the reference gives none."""
        if self._ref is None:
            return self.url
        try:
            value = resolve_secret(self._ref, environ=self._environ,
                                   keyring_get=self._keyring_get).strip()
        except SecretError as exc:
            return HealthCheckResult.unhealthy(f"url: {exc}", url=self._ref)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return HealthCheckResult.unhealthy(
                f"url: {self._ref} does not hold an http:// or https:// URL", url=self._ref)
        self._shown = redact_url(value)
        return value

    def check(self) -> HealthCheckResult:
        """One GET; the body is not read."""
        import urllib.error
        import urllib.request

        target = self._target()
        if isinstance(target, HealthCheckResult):
            return target
        if self._opener is None:
            self._opener = urllib.request.build_opener()
        req = urllib.request.Request(target, method="GET",
                                     headers={"User-Agent": "timeline-telemetry-health"})
        started = self._clock()
        try:
            with self._opener.open(req, timeout=self._request_timeout) as resp:
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            reason: Any = getattr(exc, "reason", exc)
            if isinstance(reason, socket.timeout | TimeoutError):
                reason = f"no answer within {self._request_timeout - _GRACE:g}s"
            return HealthCheckResult.unhealthy(f"{self._shown}: {reason}", url=self._shown)
        latency = self._clock() - started
        meta: dict[str, object] = {"url": self._shown, "status_code": status,
                                   "latency_seconds": round(latency, 4)}
        if status != self.expected_status:
            return HealthCheckResult.unhealthy(
                f"{self._shown} answered HTTP {status} (expected {self.expected_status})", **meta)
        if latency > self.latency_warning:
            return HealthCheckResult.warning(
                f"{self._shown} is slow: HTTP {status} in {latency * 1000:.0f} ms "
                f"(warning above {self.latency_warning * 1000:.0f} ms)", **meta)
        return HealthCheckResult.healthy(
            f"{self._shown}: HTTP {status} in {latency * 1000:.0f} ms", **meta)

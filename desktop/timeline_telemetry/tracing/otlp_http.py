"""The OTLP/HTTP sender (protobuf, optional gzip) used by the Otlp and Jaeger exporters.

Header values may be ``keyring:NAME`` / ``env:NAME`` references: they are resolved at every
attempt (a rotated token is picked up, nothing secret is kept in the exporter) and never
appear in logs or statuses. One persistent connection, reopened after any error.

Endpoints follow the OTel SDKs' ``OTEL_EXPORTER_OTLP_ENDPOINT`` rule: a base URL gets
``/v1/traces`` appended; a URL already ending in ``/v1/traces`` is used as it is.
Jaeger accepts OTLP natively (port 4318); the design document's ``http://host:14268/api/traces`` is
Jaeger's legacy Thrift collector, which does not: see :func:`jaeger_otlp_url`.
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from timeline_telemetry.config.secrets import SecretError, is_secret_ref, resolve_secret
from timeline_telemetry.delivery import DeliveryError
from timeline_telemetry.net.http_headers import retry_after_seconds
from timeline_telemetry.net.loop_guard import INSTANCE_HEADER, instance_id
from timeline_telemetry.net.urls import redact_url

from .batch import OtlpBatch

if TYPE_CHECKING:  # http.client brings ssl and email (~5 MB): imported at first delivery
    import http.client
    import ssl

__all__ = [
    "JAEGER_OTLP_PORT",
    "JAEGER_THRIFT_PORT",
    "OtlpHttpSender",
    "jaeger_otlp_url",
    "otlp_signal_url",
]

_log = logging.getLogger(__name__)

JAEGER_THRIFT_PORT = 14268
JAEGER_OTLP_PORT = 4318
_RETRYABLE = frozenset({429, 502, 503, 504})
_USER_AGENT = "timeline-telemetry"
KeyringGet = Callable[[str, str], str | None]


def otlp_signal_url(endpoint: str, signal: str = "traces") -> str:
    """``endpoint`` + ``/v1/<signal>`` unless it already ends with it."""
    parts = urlsplit(endpoint)
    suffix = f"/v1/{signal}"
    path = parts.path.rstrip("/")
    if not path.endswith(suffix):
        path += suffix
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def jaeger_otlp_url(endpoint: str) -> tuple[str, str | None]:
    """The OTLP/HTTP traces URL for a Jaeger ``endpoint``, and a warning if the endpoint is
    the legacy Thrift collector (port 14268 or path ``/api/traces``): then the same host on
    port 4318 is used."""
    parts = urlsplit(endpoint)
    legacy = parts.port == JAEGER_THRIFT_PORT or parts.path.rstrip("/").endswith("/api/traces")
    if not legacy:
        return otlp_signal_url(endpoint), None
    host = parts.hostname or "localhost"
    host_text = f"[{host}]" if ":" in host else host
    base = urlunsplit((parts.scheme, f"{host_text}:{JAEGER_OTLP_PORT}", "", "", ""))
    url = otlp_signal_url(base)
    warning = (
        f"Jaeger endpoint {redact_url(endpoint)} is Jaeger's legacy Thrift collector "
        f"(port {JAEGER_THRIFT_PORT}, /api/traces), which does not accept OTLP. Sending OTLP "
        f"to {url} instead: Jaeger's OTLP/HTTP port is {JAEGER_OTLP_PORT} (path /v1/traces; "
        f"on Jaeger before 1.35 start it with COLLECTOR_OTLP_ENABLED=true). Set the endpoint "
        f'to "{base}" to silence this warning.'
    )
    return url, warning


class OtlpHttpSender:
    """:class:`~timeline_telemetry.delivery.Sender` POSTing OTLP protobuf to ``url``.

    ``signal`` (``traces`` or ``logs``) picks the response type read for partial success.
    ``headers`` values may be secret references (resolved per attempt with ``environ`` /
    ``keyring_get``). ``compression`` is ``gzip`` or ``none``.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        compression: str = "none",
        signal: str = "traces",
        name: str | None = None,
        environ: Mapping[str, str] = os.environ,
        keyring_get: KeyringGet | None = None,
        ssl_context: ssl.SSLContext | None = None,
        url_field: str = "endpoint",
        finish_url: Callable[[str], str] | None = None,
    ) -> None:
        if compression not in ("gzip", "none"):
            raise ValueError(f"compression must be 'gzip' or 'none', got {compression!r}")
        # An env:/keyring: URL is resolved at every attempt and checked then; the error
        # names the config field, never the value.
        self._conn: http.client.HTTPConnection | None = None
        self._url_ref = url if is_secret_ref(url) else None
        self._url_field = url_field
        self._finish_url = finish_url
        self._parts = urlsplit("http://unresolved/")
        self._path = "/"
        self.url = url
        if self._url_ref is None:
            self._set_url(finish_url(url) if finish_url else url)
        self.compression = compression
        self.signal = signal
        where = (f"{self._parts.hostname}:{self._port()}" if self._url_ref is None
                 else self._url_ref)
        self.name = name or f"{signal}:otlp:{where}"
        self._headers = dict(headers or {})
        self._environ = environ
        self._keyring_get = keyring_get
        self._ssl_context = ssl_context

    # -- Sender ---------------------------------------------------------------------------
    def open(self) -> None:
        """Connections are made on first delivery."""

    def _set_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(url)}")
        if (parts.scheme, parts.netloc) != (self._parts.scheme, self._parts.netloc):
            self.close()  # another server: the old connection is of no use
        self._parts = parts
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        if self._url_ref is None:
            self.url = url

    def _resolve_url(self) -> None:
        ref = self._url_ref
        if ref is None:
            return
        try:
            value = resolve_secret(ref, environ=self._environ, keyring_get=self._keyring_get)
        except SecretError as exc:
            raise DeliveryError(f"{self._url_field}: {exc}", retryable=True) from None
        value = value.strip()
        try:
            self._set_url(self._finish_url(value) if self._finish_url else value)
        except ValueError:
            raise DeliveryError(
                f"{self._url_field}: {ref} does not hold an http:// or https:// URL with a "
                "host", retryable=False,
            ) from None

    def deliver(self, batch: OtlpBatch, *, timeout_s: float) -> int:
        """POST the request; return the items the server rejected (partial success)."""
        import http.client

        self._resolve_url()
        body = batch.message.SerializeToString()
        headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": _USER_AGENT,
            **self._resolved_headers(),
            INSTANCE_HEADER: instance_id(),
        }
        if self.compression == "gzip":
            body = gzip.compress(body, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        try:
            conn = self._connection(timeout_s)
            conn.request("POST", self._path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise DeliveryError(
                f"cannot reach {redact_url(self.url)}: {_describe(exc)}", retryable=True
            ) from None
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        if 200 <= resp.status < 300:
            return self._rejected(batch, data)
        retry_after = retry_after_seconds(resp.getheader("Retry-After"))
        why = _status_message(data, resp.getheader("Content-Type", ""))
        raise DeliveryError(
            f"{redact_url(self.url)} answered HTTP {resp.status} {resp.reason}".rstrip()
            + (f": {why}" if why else ""),
            retryable=resp.status in _RETRYABLE,
            retry_after_s=retry_after,
        )

    def close(self) -> None:
        """Drop the connection (a new one is opened at the next delivery)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def describe(self) -> str:
        """One log line for the CLI (no header values)."""
        names = ", ".join(sorted(self._headers)) or "none"
        return (f"sending {self.signal} as OTLP/HTTP protobuf to {redact_url(self.url)} "
                f"(compression {self.compression}, headers: {names})")

    # -- internals ------------------------------------------------------------------------
    def _port(self) -> int:
        return self._parts.port or (443 if self._parts.scheme == "https" else 80)

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        import http.client
        import ssl

        conn = self._conn
        if conn is None:
            host = self._parts.hostname or "localhost"
            if self._parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, self._port(), timeout=timeout_s,
                    context=self._ssl_context or ssl.create_default_context(),
                )
            else:
                conn = http.client.HTTPConnection(host, self._port(), timeout=timeout_s)
            self._conn = conn
        else:
            conn.timeout = timeout_s
            if conn.sock is not None:
                conn.sock.settimeout(timeout_s)
        return conn

    def _resolved_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self._headers.items():
            try:
                out[key] = resolve_secret(
                    value, environ=self._environ, keyring_get=self._keyring_get
                )
            except SecretError as exc:
                raise DeliveryError(f"header {key}: {exc}", retryable=True) from None
        return out

    def _rejected(self, batch: OtlpBatch, data: bytes) -> int:
        if not data:
            return 0
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceResponse,
        )
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        try:
            if isinstance(batch.message, ExportTraceServiceRequest):
                tresp = ExportTraceServiceResponse.FromString(data)
                rejected, message = (tresp.partial_success.rejected_spans,
                                     tresp.partial_success.error_message)
            else:
                lresp = ExportLogsServiceResponse.FromString(data)
                rejected, message = (lresp.partial_success.rejected_log_records,
                                     lresp.partial_success.error_message)
        except Exception:  # a server answering 200 with something else: not our problem
            return 0
        if rejected or message:
            _log.warning("%s accepted the %s partially: %d rejected (%s)",
                         redact_url(self.url), self.signal, rejected, message or "no reason")
        return int(rejected)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the collector running?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status_message(body: bytes, content_type: str) -> str:
    """The ``message`` of an OTLP error body (a ``google.rpc.Status``), cut to 200
    characters; empty if there is none (the spec says servers should send one)."""
    if not body or len(body) > 64 * 1024:
        return ""
    try:
        if "json" in content_type:
            import json

            doc = json.loads(body)
            text = str(doc.get("message", "")) if isinstance(doc, dict) else ""
        else:
            from timeline_telemetry.otlp.rpc_status import status_message

            text = status_message(body)
    except Exception:  # a non-OTLP server's page: the status line says enough
        return ""
    return " ".join(text.split())[:200]

"""Parsing the exporter lists: ``[{"Console": {}}, {"Prometheus": {"port": 9464}}, ...]``.

Each exporter is an object with exactly one key naming its kind (the design document's externally
tagged form). Which kinds a list accepts depends on the signal (traces or metrics).
Duplicates (same kind and identity) are reported on the later entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from ._reader import Bad, Context, ObjectReader, check_http_url, check_secret_ref, show
from .schema import (
    COMPRESSIONS,
    ConsoleExporterConfig,
    FileExporterConfig,
    FrozenMap,
    JaegerExporterConfig,
    MetricsExporterConfig,
    OtlpExporterConfig,
    PrometheusExporterConfig,
    RemoteWriteBasicAuth,
    RemoteWriteExporterConfig,
    RemoteWriteQueueConfig,
    TracingExporterConfig,
    json_keys,
)
from .secrets import is_secret_ref

__all__ = [
    "exporter_identity",
    "parse_logs_exporters",
    "parse_metrics_exporters",
    "parse_tracing_exporters",
]

E = TypeVar("E")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Headers the remote-write protocol sets itself; a config must not override them.
_RW_RESERVED_HEADERS = frozenset({
    "content-encoding", "content-type", "content-length", "x-prometheus-remote-write-version",
    "host", "user-agent",
})
#: Bounds on what a config may ask of one exporter (each is far above any sane setting).
_RW_MAX_LABELS = 32
_RW_MAX_LABEL_VALUE = 1024
_PORT_ACCEPTED = "1-65535, or 0 for any free port"


# -- one parser per kind -------------------------------------------------------------------
def _console(r: ObjectReader) -> ConsoleExporterConfig | None:
    return ConsoleExporterConfig()


def _file(r: ObjectReader) -> FileExporterConfig | None:
    d_max, d_backups = FileExporterConfig(Path()).max_bytes, FileExporterConfig(Path()).backups
    raw = r.get("path", None, _check_path) if r.require("path", "a file path string") else None
    max_bytes = r.get_int("max_bytes", d_max, minimum=1)
    backups = r.get_int("backups", d_backups, minimum=0)
    if raw is None:
        return None
    return FileExporterConfig(r.ctx.resolve_path(raw), max_bytes, backups)


def _check_path(value: object) -> str | Bad:
    if not isinstance(value, str) or not value.strip():
        return Bad(f"expected a file path string, got {show(value)}")
    return value


def _prometheus(r: ObjectReader) -> PrometheusExporterConfig | None:
    d = PrometheusExporterConfig()
    return PrometheusExporterConfig(
        port=r.get("port", d.port, check_port),
        path=r.get("path", d.path, _check_url_path),
        enable_compression=r.get_bool("enable_compression", d.enable_compression),
        host=r.get_str("host", d.host, nonempty=True),
    )


def check_port(value: object) -> int | Bad:
    """A TCP port: 1-65535, or 0 meaning "any free port"."""
    if not isinstance(value, int) or isinstance(value, bool):
        return Bad(f"expected a port number, got {show(value)} (accepted: {_PORT_ACCEPTED})")
    if not 0 <= value <= 65535:
        return Bad(f"{value} is not a port (accepted: {_PORT_ACCEPTED})")
    return value


def _check_url_path(value: object) -> str | Bad:
    if not isinstance(value, str) or not value.startswith("/") or any(
        c in value for c in "?# \t\r\n"
    ):
        return Bad(f'expected a URL path starting with "/", e.g. "/metrics", got {show(value)}')
    return value


def _check_url(value: object) -> str | Bad:
    return check_http_url(value, "http://localhost:4318")


def _jaeger(r: ObjectReader) -> JaegerExporterConfig | None:
    d_compression = JaegerExporterConfig("").compression
    endpoint = r.get("endpoint", None, _check_url) if r.require("endpoint", "a URL") else None
    compression = r.get_str("compression", d_compression, choices=COMPRESSIONS)
    return None if endpoint is None else JaegerExporterConfig(endpoint, compression)


def _otlp(r: ObjectReader) -> OtlpExporterConfig | None:
    """An ``endpoint`` left out comes from ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`` or the
    OTel default ``http://localhost:4318`` at use; so do the other keys left out."""
    d = OtlpExporterConfig("")
    # "" (as ``config show`` renders a left-out endpoint) also means "from the environment".
    endpoint = r.get("endpoint", "", lambda v: "" if v == "" else _check_url(v))
    headers = _headers(r) if r.has("headers") else d.headers
    compression = r.get_str("compression", d.compression, choices=COMPRESSIONS)
    timeout = r.get_duration("timeout", d.timeout)
    given = frozenset(k for k in ("endpoint", "headers", "compression", "timeout") if r.has(k)
                      and (k != "endpoint" or endpoint))
    return OtlpExporterConfig(endpoint, headers, compression, timeout, given=given)


def _headers(r: ObjectReader) -> FrozenMap:
    path = r.path("headers")
    raw = r.data["headers"]
    if not isinstance(raw, dict):
        r.ctx.problem(path, f'expected an object of header names to strings, got {show(raw)}')
        return FrozenMap()
    out: dict[str, str] = {}
    for name in getattr(raw, "duplicates", ()):
        r.ctx.problem(f"{path}.{name}", "given more than once; keep one")
    for name, value in raw.items():
        where = f"{path}.{name}"
        if not _HEADER_NAME.fullmatch(name):
            r.ctx.problem(where, "not a valid HTTP header name")
        elif not isinstance(value, str) or "\r" in value or "\n" in value:
            r.ctx.problem(where, f"expected a one-line string, got {show(value)}")
        else:
            check_secret_ref(r.ctx, where, value)
            out[name] = value
    return FrozenMap(out)


def _remote_write(r: ObjectReader) -> RemoteWriteExporterConfig | None:
    d = RemoteWriteExporterConfig("")
    url = (r.get("url", None, _check_rw_url)
           if r.require("url", "the receiver's remote-write URL") else None)
    headers = _headers(r) if r.has("headers") else d.headers
    for name in headers:
        if name.lower() in _RW_RESERVED_HEADERS:
            r.ctx.problem(f"{r.path('headers')}.{name}",
                          "set by the remote-write protocol itself; remove it")
    auth = _basic_auth(r) if r.has("basic_auth") else None
    if auth is not None and any(n.lower() == "authorization" for n in headers):
        r.ctx.problem(r.path("basic_auth"),
                      "give either basic_auth or an Authorization header, not both")
    labels = _external_labels(r) if r.has("external_labels") else d.external_labels
    timeout = r.get_duration("timeout", d.timeout)
    queue = (r.section("queue", _rw_queue, d.queue) if r.has("queue") else d.queue)
    max_age = r.get_duration("max_age", d.max_age)
    if url is None:
        return None
    return RemoteWriteExporterConfig(url, headers, auth, labels, timeout, queue, max_age)


def _check_rw_url(value: object) -> str | Bad:
    checked = check_http_url(value, "http://prometheus.studio.lan:9090/api/v1/write")
    if isinstance(checked, str) and "@" in checked.partition("://")[2].split("/", 1)[0]:
        return Bad("put the user name and password in basic_auth (with a keyring: or env: "
                   "password), not in the URL")
    return checked


def _basic_auth(r: ObjectReader) -> RemoteWriteBasicAuth | None:
    if r.data.get("basic_auth") is None:
        return None  # null: as config show renders "no basic auth"
    sub = ObjectReader(r.ctx, r.path("basic_auth"), r.data["basic_auth"],
                       json_keys(RemoteWriteBasicAuth))
    user = (sub.get_str("username", "", nonempty=True)
            if sub.require("username", "a user name string") else None)
    password = (sub.get("password", None, _check_password_ref)
                if sub.require("password", 'a secret reference such as "keyring:NAME"')
                else None)
    if user is None or password is None or not user:
        return None
    return RemoteWriteBasicAuth(user, password)


def _check_password_ref(value: object) -> str | Bad:
    if isinstance(value, str) and is_secret_ref(value):
        return value
    return Bad('expected a secret reference such as "keyring:NAME" (store it with '
               "`timeline-telemetry secret set NAME`) or 'env:NAME'; a password is never "
               "written in the config file")


def _external_labels(r: ObjectReader) -> FrozenMap:
    path = r.path("external_labels")
    raw = r.data["external_labels"]
    if not isinstance(raw, dict):
        r.ctx.problem(path, f"expected an object of label names to strings, got {show(raw)}")
        return FrozenMap()
    if len(raw) > _RW_MAX_LABELS:
        r.ctx.problem(path, f"{len(raw)} labels; at most {_RW_MAX_LABELS} are accepted")
        return FrozenMap()
    out: dict[str, str] = {}
    for name, value in raw.items():
        where = f"{path}.{name}"
        if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
            r.ctx.problem(where, "not a valid Prometheus label name (letters, digits and _, "
                                 "not starting with a digit or __)")
        elif not isinstance(value, str) or not value or len(value) > _RW_MAX_LABEL_VALUE:
            r.ctx.problem(where, f"expected a non-empty string of at most "
                                 f"{_RW_MAX_LABEL_VALUE} characters, got {show(value)}")
        else:
            out[name] = value
    return FrozenMap(out)


def _rw_queue(ctx: Context, path: str, data: object) -> RemoteWriteQueueConfig:
    d = RemoteWriteQueueConfig()
    r = ObjectReader(ctx, path, data, json_keys(RemoteWriteQueueConfig))
    q = RemoteWriteQueueConfig(
        max_samples_per_send=r.get_int("max_samples_per_send", d.max_samples_per_send,
                                       minimum=1, maximum=100_000),
        max_samples_per_second=r.get_int("max_samples_per_second", d.max_samples_per_second,
                                         minimum=1, maximum=10_000_000),
        min_backoff=r.get_duration("min_backoff", d.min_backoff),
        max_backoff=r.get_duration("max_backoff", d.max_backoff),
        max_retry_after=r.get_duration("max_retry_after", d.max_retry_after),
    )
    if q.min_backoff > q.max_backoff:
        ctx.problem(f"{path}.min_backoff", "is longer than max_backoff")
    return q


_TRACING: dict[str, Callable[[ObjectReader], TracingExporterConfig | None]] = {
    "Console": _console,
    "File": _file,
    "Jaeger": _jaeger,
    "Otlp": _otlp,
}
_METRICS: dict[str, Callable[[ObjectReader], MetricsExporterConfig | None]] = {
    "Console": _console,
    "File": _file,
    "Prometheus": _prometheus,
    "RemoteWrite": _remote_write,
}
_KINDS: dict[str, type] = {
    "Console": ConsoleExporterConfig,
    "File": FileExporterConfig,
    "Prometheus": PrometheusExporterConfig,
    "Jaeger": JaegerExporterConfig,
    "Otlp": OtlpExporterConfig,
    "RemoteWrite": RemoteWriteExporterConfig,
}
_ELSEWHERE_TRACING = {
    "Prometheus": "Prometheus serves metrics, not traces; put it in telemetry.metrics.exporters",
    "RemoteWrite": "RemoteWrite sends metrics, not traces; put it in telemetry.metrics.exporters",
}
_ELSEWHERE_METRICS = {
    "Jaeger": "Jaeger is for traces, not metrics; put it in telemetry.tracing.exporters",
}


def parse_tracing_exporters(
    ctx: Context, path: str, data: object
) -> tuple[TracingExporterConfig, ...]:
    """``tracing.exporters``: Console, File, Jaeger, Otlp."""
    return _parse_list(ctx, path, data, _TRACING, _ELSEWHERE_TRACING)


def parse_logs_exporters(ctx: Context, path: str, data: object) -> tuple[OtlpExporterConfig, ...]:
    """``logs.exporters``: Otlp only (the ECS file is ``logs.ecs_file``)."""
    return _parse_list(ctx, path, data, {"Otlp": _otlp},
                       {"File": "the logs file is logs.ecs_file", "Console": _NOT_FOR_LOGS,
                        "Jaeger": _NOT_FOR_LOGS, "Prometheus": _NOT_FOR_LOGS})


_NOT_FOR_LOGS = "logs go to an OpenTelemetry Collector over Otlp"


def parse_metrics_exporters(
    ctx: Context, path: str, data: object
) -> tuple[MetricsExporterConfig, ...]:
    """``metrics.exporters``: Console, File, Prometheus, RemoteWrite."""
    return _parse_list(ctx, path, data, _METRICS, _ELSEWHERE_METRICS)


def _parse_list(
    ctx: Context,
    path: str,
    data: object,
    kinds: Mapping[str, Callable[[ObjectReader], E | None]],
    elsewhere: Mapping[str, str],
) -> tuple[E, ...]:
    accepted = ", ".join(kinds)
    if not isinstance(data, list):
        ctx.problem(path, f"expected a list of exporters such as [{{\"Console\": {{}}}}], "
                          f"got {show(data)}")
        return ()
    out: list[E] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            hint = (f'; write {{"{item}": {{}}}}' if isinstance(item, str) and item in _KINDS
                    else "")
            ctx.problem(where, f"expected an exporter object such as {{\"Console\": {{}}}}, "
                               f"got {show(item)}{hint}")
            continue
        if len(item) != 1:
            got = f"{len(item)} keys ({', '.join(item)})" if item else "an empty object"
            ctx.problem(where, "an exporter is an object with exactly one key naming its kind "
                               f"(accepted: {accepted}); got {got}")
            continue
        ((kind, body),) = item.items()
        if kind in elsewhere:
            ctx.problem(where, f"{elsewhere[kind]} (accepted here: {accepted})")
            continue
        if kind not in kinds:
            ctx.problem(where, f"unknown exporter {show(kind)} (accepted: {accepted})")
            continue
        reader = ObjectReader(ctx, f"{where}.{kind}", {} if body is None else body,
                              json_keys(_KINDS[kind]))
        exporter = kinds[kind](reader)
        if exporter is None:
            continue
        identity = exporter_identity(exporter)
        if identity is not None and identity in seen:
            ctx.problem(where, f"duplicate of {_last(path)}[{seen[identity]}]: "
                               f"{identity[1]} (remove one)")
        else:
            if identity is not None:
                seen[identity] = i
            if isinstance(exporter, FileExporterConfig):
                ctx.claim_file(exporter.path, where)
        out.append(exporter)
    return tuple(out)


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def exporter_identity(exporter: object) -> tuple[str, str] | None:
    """``(kind, description)`` that two duplicates share; None if it can never clash."""
    if isinstance(exporter, ConsoleExporterConfig):
        return ("Console", "a second Console exporter")
    if isinstance(exporter, FileExporterConfig):
        return ("File", f"same File path {exporter.path}")
    if isinstance(exporter, PrometheusExporterConfig):
        if exporter.port == 0:
            return None  # each picks its own free port
        return ("Prometheus", f"same Prometheus host:port {exporter.host}:{exporter.port}")
    if isinstance(exporter, RemoteWriteExporterConfig):
        return ("RemoteWrite", f"same RemoteWrite url {exporter.url.rstrip('/')}")
    if isinstance(exporter, JaegerExporterConfig | OtlpExporterConfig):
        return (exporter.kind, f"same {exporter.kind} endpoint {exporter.endpoint.rstrip('/')}")
    return None

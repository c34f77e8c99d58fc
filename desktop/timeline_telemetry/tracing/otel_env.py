"""The OpenTelemetry SDK environment variables, applied to the agent's own telemetry.

People who run OpenTelemetry set ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER(_ARG)``, ``OTEL_SDK_DISABLED`` and ``OTEL_EXPORTER_OTLP_*`` once for every
process on a machine; the agent honours them as the SDK specification defines them, with one
precedence rule: **a key the config file sets wins, then the environment variable, then the
built-in default.**

Where the SDK reads a variable itself (the resource detector, the sampler, the disabled
switch) it is left to do so, reading the process environment; the OTLP exporter variables
are read here because the agent's exporters are its own (queued, retried, secret-aware)
and not the SDK's. ``OTEL_EXPORTER_OTLP_TIMEOUT`` is in milliseconds, as the specification
says. The agent exports no metrics over OTLP (they are scraped or written), so the
``..._METRICS_...`` variables do not apply to it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from timeline_telemetry.config.schema import OtlpExporterConfig, TracingConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.sampling import Sampler

    from timeline_telemetry.config.secrets import KeyringGet

    from .otlp_http import OtlpHttpSender

__all__ = [
    "DEFAULT_OTLP_ENDPOINT",
    "OtlpSettings",
    "agent_resource",
    "agent_sampler",
    "otlp_sender",
    "otlp_settings",
    "sdk_disabled",
]

_log = logging.getLogger(__name__)

#: The specification's default for ``OTEL_EXPORTER_OTLP_ENDPOINT`` over HTTP.
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
_PROTOCOL = "http/protobuf"
_COMPRESSIONS = ("gzip", "none")
#: Bounds on what the environment may put into a request (it is outside input too).
_MAX_ENV_HEADERS = 32
_MAX_HEADER_TEXT = 8192


@dataclass(frozen=True)
class OtlpSettings:
    """One OTLP exporter's effective settings.

    ``url`` is the full signal URL, or an ``env:``/``keyring:`` reference resolved at use
    (then ``append_path`` says whether ``/v1/<signal>`` is still to be added). ``sources``
    names the environment variables that supplied a value (for the startup log; never
    their values, which may be tokens).
    """

    url: str
    headers: Mapping[str, str]
    compression: str
    timeout_s: float
    append_path: bool = False
    sources: tuple[str, ...] = field(default=())


def _env(environ: Mapping[str, str], signal: str, what: str) -> tuple[str, str] | None:
    """The signal-specific variable, else the generic one: ``(name, value)`` if set."""
    for name in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_{what}", f"OTEL_EXPORTER_OTLP_{what}"):
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def otlp_settings(
    cfg: OtlpExporterConfig, signal: str, environ: Mapping[str, str] = os.environ
) -> OtlpSettings:
    """Settings for an ``Otlp`` exporter of ``signal`` (``traces`` or ``logs``): each key
    from the config if it set it, else from ``OTEL_EXPORTER_OTLP_<SIGNAL>_*`` /
    ``OTEL_EXPORTER_OTLP_*``, else the default. Bad environment values are logged and
    ignored (the default applies), never fatal: the variable may be meant for another
    program on the machine."""
    from .otlp_http import otlp_signal_url

    from_env: list[str] = []
    if "endpoint" in cfg.given and cfg.endpoint:
        url = cfg.endpoint
        append = True
    elif found := _env(environ, signal, "ENDPOINT"):
        url = found[1]
        # The specification: a signal-specific URL is used as it is, a generic one gets
        # /v1/<signal>.
        append = found[0] == "OTEL_EXPORTER_OTLP_ENDPOINT"
        from_env.append(found[0])
    else:
        url, append = DEFAULT_OTLP_ENDPOINT, True
    if append and not url.startswith(("env:", "keyring:")):
        url, append = otlp_signal_url(url, signal), False

    headers: Mapping[str, str] = cfg.headers
    if "headers" not in cfg.given and (found := _env(environ, signal, "HEADERS")):
        parsed = _parse_headers(*found)
        if parsed is not None:
            headers = parsed
            from_env.append(found[0])

    compression = cfg.compression
    if "compression" not in cfg.given and (found := _env(environ, signal, "COMPRESSION")):
        if found[1].lower() in _COMPRESSIONS:
            compression = found[1].lower()
            from_env.append(found[0])
        else:
            _log.warning("%s=%r is not supported (accepted: gzip, none); using %s",
                         found[0], found[1][:40], compression)

    timeout = cfg.timeout
    if "timeout" not in cfg.given and (found := _env(environ, signal, "TIMEOUT")):
        try:
            ms = float(found[1])
        except ValueError:
            ms = -1.0
        if 0 < ms <= 3_600_000:
            timeout = ms / 1000.0
            from_env.append(found[0])
        else:
            _log.warning("%s=%r is not a timeout in milliseconds (1-3600000); using %gs",
                         found[0], found[1][:40], timeout)

    if (found := _env(environ, signal, "PROTOCOL")) and found[1] != _PROTOCOL:
        _log.warning("%s=%s: the agent sends OTLP as %s only; sending %s", found[0],
                     found[1][:40], _PROTOCOL, _PROTOCOL)
    return OtlpSettings(url, headers, compression, timeout, append, tuple(from_env))


def otlp_sender(
    cfg: OtlpExporterConfig,
    signal: str,
    *,
    environ: Mapping[str, str],
    keyring_get: KeyringGet | None,
    url_field: str,
) -> tuple[OtlpHttpSender, OtlpSettings]:
    """The OTLP/HTTP sender of an ``Otlp`` exporter of ``signal`` with its
    :func:`otlp_settings` (the caller queues it with ``timeout_s``). ``url_field`` names
    the config key in errors about an ``env:``/``keyring:`` endpoint."""
    from .otlp_http import OtlpHttpSender, otlp_signal_url

    st = otlp_settings(cfg, signal, environ)
    sender = OtlpHttpSender(
        st.url, headers=st.headers, compression=st.compression, signal=signal,
        environ=environ, keyring_get=keyring_get, url_field=url_field,
        finish_url=(lambda u: otlp_signal_url(u, signal)) if st.append_path else None,
    )
    return sender, st


def _parse_headers(name: str, text: str) -> dict[str, str] | None:
    """``key1=value1,key2=value2`` (values URL-encoded) as the specification writes them,
    parsed by the OTel API's own parser; bounded in size and count."""
    from opentelemetry.util.re import parse_env_headers

    if len(text) > _MAX_HEADER_TEXT:
        _log.warning("%s is longer than %d characters; ignored", name, _MAX_HEADER_TEXT)
        return None
    parsed = dict(parse_env_headers(text, liberal=True))
    if len(parsed) > _MAX_ENV_HEADERS:
        _log.warning("%s has %d headers (at most %d); ignored", name, len(parsed),
                     _MAX_ENV_HEADERS)
        return None
    return parsed


def sdk_disabled(config: TracingConfig, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``OTEL_SDK_DISABLED=true`` turns the agent's own spans off.

    The SDK's tracer provider reads the variable itself and then hands out no-op tracers
    whatever the config says, so a ``tracing.enabled: true`` in the file cannot win here;
    that case is logged as a warning rather than silently recording nothing.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true":
        return False
    if "enabled" in config.given and config.enabled:
        _log.warning("OTEL_SDK_DISABLED=true disables the OpenTelemetry SDK: the agent records "
                     "no spans of its own although tracing.enabled is true (received spans "
                     "are still forwarded)")
    else:
        _log.info("OTEL_SDK_DISABLED=true: the agent records no spans of its own")
    return True


def agent_sampler(
    config: TracingConfig, environ: Mapping[str, str] = os.environ
) -> Sampler | None:
    """The sampler for the agent's provider; None lets the SDK read ``OTEL_TRACES_SAMPLER``
    and ``OTEL_TRACES_SAMPLER_ARG`` itself (it reads the process environment).

    ``debug_mode`` or a ``sample_rate`` in the config file win; the built-in default
    (parent-based ratio ``sample_rate``) applies when the variable is not set.
    """
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    if config.debug_mode:
        return ParentBased(ALWAYS_ON)
    if "sample_rate" not in config.given and environ.get("OTEL_TRACES_SAMPLER", "").strip():
        return None
    return ParentBased(TraceIdRatioBased(config.sample_rate))


def agent_resource(defaults: Mapping[str, str], given: Collection[str] = ()) -> Resource:
    """The agent's resource: the SDK's ``Resource.create`` (which adds ``telemetry.sdk.*`` and
    reads ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``), with ``defaults`` under
    the environment except the keys in ``given`` (set by the config file), which win."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    from_env = OTELResourceDetector().detect().attributes
    attrs = {k: v for k, v in defaults.items() if k in given or k not in from_env}
    return Resource.create(attrs)

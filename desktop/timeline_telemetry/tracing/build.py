"""Building the tracer and the trace exporters from ``telemetry.tracing``.

* ``sample_rate``: parent-based ratio sampling (a child follows its parent's decision; a
  root is sampled with probability ``sample_rate``); ``debug_mode`` samples every trace and
  exports each span as it ends instead of in batches.
* ``max_attributes_per_span`` / ``max_events_per_span``: the SDK's span limits.
* ``batch_export``: the SDK batch processor's ``max_export_batch_size``,
  ``schedule_delay`` (``export_interval``) and ``export_timeout`` (``max_export_timeout``,
  also the per-attempt timeout of Jaeger exports).
* ``log_spans``: a log line per finished span (logger ``timeline_telemetry.tracing.spans``).
* ``enabled: false``: the agent records no spans; the exporters are still built, because
  the receiver forwards the editor's traces through them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from opentelemetry import trace as otel_trace
from opentelemetry.trace import NoOpTracer

from timeline_telemetry import __version__
from timeline_telemetry.config.schema import (
    ConsoleExporterConfig,
    FileExporterConfig,
    JaegerExporterConfig,
    OtlpExporterConfig,
    TracingConfig,
    TracingExporterConfig,
)
from timeline_telemetry.delivery import TRACE_COUNTERS, QueuedExporter, RetryPolicy, Sender
from timeline_telemetry.metrics.api import Metrics

from .api import Tracer
from .batch import OtlpBatch
from .otel_env import agent_resource, agent_sampler, sdk_disabled
from .pipeline import TraceExporters

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["build_trace_exporters", "build_tracer"]

_log = logging.getLogger(__name__)

KeyringGet = Callable[[str, str], str | None]
INSTRUMENTATION_NAME = "timeline-telemetry"
DEFAULT_RETRY = RetryPolicy()


def build_trace_exporters(
    configs: Sequence[TracingExporterConfig],
    *,
    metrics: Metrics,
    default_timeout_s: float = 30.0,
    policy: RetryPolicy = DEFAULT_RETRY,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
    console_stream: TextIO | None = None,
) -> TraceExporters:
    """One queued exporter per config entry (not started). A Jaeger endpoint on the legacy
    Thrift collector is redirected to Jaeger's OTLP port with a warning."""
    out: list[QueuedExporter[OtlpBatch]] = []
    for cfg in configs:
        timeout = default_timeout_s
        sender: Sender[OtlpBatch]
        if isinstance(cfg, ConsoleExporterConfig):
            from .console import ConsoleSender  # each sender's imports only when configured

            sender = ConsoleSender(stream=console_stream)
        elif isinstance(cfg, FileExporterConfig):
            from .file import JsonLinesSender

            sender = JsonLinesSender(cfg.path, max_bytes=cfg.max_bytes, backups=cfg.backups)
        elif isinstance(cfg, OtlpExporterConfig):
            from .otel_env import otlp_sender

            sender, st = otlp_sender(cfg, "traces", environ=environ, keyring_get=keyring_get,
                                     url_field="tracing.exporters Otlp.endpoint")
            if st.sources:
                _log.info("Otlp trace exporter: %s from the environment", ", ".join(st.sources))
            timeout = st.timeout_s
        elif isinstance(cfg, JaegerExporterConfig):
            from timeline_telemetry.config.secrets import is_secret_ref

            from .otlp_http import OtlpHttpSender, jaeger_otlp_url

            url, warning = (cfg.endpoint, None) if is_secret_ref(cfg.endpoint) \
                else jaeger_otlp_url(cfg.endpoint)
            if warning:
                _log.warning("%s", warning)
            sender = OtlpHttpSender(url, compression=cfg.compression, name=None,
                                    environ=environ, keyring_get=keyring_get,
                                    url_field="tracing.exporters Jaeger.endpoint",
                                    finish_url=lambda u: jaeger_otlp_url(u)[0])
            sender.name = sender.name.replace(":otlp:", ":jaeger:", 1)
        else:  # pragma: no cover (the config parser accepts no other kind)
            raise TypeError(f"unknown trace exporter config {cfg!r}")
        out.append(QueuedExporter(sender, metrics=metrics, counters=TRACE_COUNTERS,
                                  policy=policy, timeout_s=timeout))
    return TraceExporters(out)


def build_tracer(
    tracing_config: TracingConfig,
    *,
    resource: Mapping[str, str],
    metrics: Metrics,
    resource_given: Collection[str] = (),
    exporters: TraceExporters | None = None,
    policy: RetryPolicy = DEFAULT_RETRY,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
    console_stream: TextIO | None = None,
) -> Tracer:
    """The agent's :class:`Tracer` with its exporters started.

    ``resource`` (``service.name``, ``service.version``, ``host.name``) describes the agent
    in every exported span; ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` override
    its keys except those in ``resource_given`` (set by the config file), and
    ``OTEL_SDK_DISABLED`` / ``OTEL_TRACES_SAMPLER`` apply as ``otel_env`` says.
    ``exporters`` overrides what the config would build (tests).
    Call ``shutdown`` on the result.
    """
    batch = tracing_config.batch_export
    if exporters is None:
        exporters = build_trace_exporters(
            tracing_config.exporters, metrics=metrics, default_timeout_s=batch.max_export_timeout,
            policy=policy, environ=environ, keyring_get=keyring_get, console_stream=console_stream,
        )
    exporters.start()
    if not tracing_config.enabled or sdk_disabled(tracing_config):
        return Tracer(NoOpTracer(), exporters=exporters)
    if tracing_config.debug_mode and tracing_config.sample_rate < 1.0:
        _log.info("tracing.debug_mode: sampling every trace (sample_rate %g is ignored)",
                  tracing_config.sample_rate)
    sdk = _DeferredSdkTracer(
        lambda: _make_provider(tracing_config, resource, resource_given, exporters)
    )
    return Tracer(sdk, exporters=exporters, flush=sdk.flush, stop=sdk.stop)


def _make_provider(
    tracing_config: TracingConfig,
    resource: Mapping[str, str],
    resource_given: Collection[str],
    exporters: TraceExporters,
) -> TracerProvider:
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from .sdk_bridge import LoggingSpanProcessor, SdkBridge

    batch = tracing_config.batch_export
    provider = TracerProvider(
        sampler=agent_sampler(tracing_config),
        resource=agent_resource(resource, resource_given),
        span_limits=SpanLimits(
            max_span_attributes=tracing_config.max_attributes_per_span,
            max_events=tracing_config.max_events_per_span,
        ),
        shutdown_on_exit=False,
    )
    if tracing_config.log_spans:
        provider.add_span_processor(LoggingSpanProcessor(
            level=logging.DEBUG if tracing_config.debug_mode else logging.INFO,
            with_events=tracing_config.debug_mode,
        ))
    if len(exporters):
        bridge = SdkBridge(exporters)
        if tracing_config.debug_mode:
            provider.add_span_processor(SimpleSpanProcessor(bridge))
        else:
            provider.add_span_processor(BatchSpanProcessor(
                bridge,
                max_queue_size=max(2048, 4 * batch.max_batch_size),
                schedule_delay_millis=batch.export_interval * 1000,
                max_export_batch_size=batch.max_batch_size,
                export_timeout_millis=batch.max_export_timeout * 1000,
            ))
    return provider


class _DeferredSdkTracer(otel_trace.Tracer):
    """The SDK tracer, made when the first span starts.

    Importing the OpenTelemetry SDK and its OTLP encoder costs about 4 MB of resident memory;
    an agent that records no spans of its own (the default: spans come from the editor, over
    the receiver) never pays it. After a ``stop`` no provider is made any more.
    """

    def __init__(self, make: Callable[[], TracerProvider]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._provider: TracerProvider | None = None
        self._tracer: otel_trace.Tracer | None = None
        self._stopped = False

    def _real(self) -> otel_trace.Tracer:
        tracer = self._tracer
        if tracer is not None:
            return tracer
        with self._lock:
            if self._tracer is None:
                if self._stopped:
                    self._tracer = NoOpTracer()
                else:
                    self._provider = self._make()
                    self._tracer = self._provider.get_tracer(INSTRUMENTATION_NAME, __version__)
            return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> otel_trace.Span:
        """The SDK's ``start_span``."""
        return self._real().start_span(*args, **kwargs)

    # The API decorates this with a private context-manager helper; contextlib's is the same
    # thing at run time, with a type mypy cannot match to the private one.
    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Iterator[otel_trace.Span]:
        """The SDK's ``start_as_current_span``."""
        with self._real().start_as_current_span(*args, **kwargs) as span:
            yield span

    def flush(self, timeout_s: float) -> bool:
        """Export every finished span (nothing to do before the first span)."""
        provider = self._provider
        return True if provider is None else bool(provider.force_flush(int(timeout_s * 1000)))

    def stop(self, timeout_s: float) -> None:
        """Flush and shut the provider down; later spans are no-ops."""
        with self._lock:
            self._stopped = True
            provider = self._provider
        if provider is not None:
            provider.force_flush(int(timeout_s * 1000))
            provider.shutdown()

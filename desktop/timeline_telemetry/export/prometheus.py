"""The Prometheus exporter: a pull endpoint that serves the latest snapshot.

While a scraper comes at least as often as the agent collects, each collection's body is
rendered right after it, on the collection's thread, and the scrape sends those bytes: on an
idle machine a render costs about four times as much on a wake-up of its own (the caches have
gone cold in the second between) as right after the collection that made its data. Otherwise
the scrape renders (and a render thrown away costs at most one per scrape).

Content negotiation is prometheus-client's (``choose_encoder``): OpenMetrics when the scraper
asks for it (Prometheus does), the classic text format otherwise. The bytes come from our
:class:`ExpositionRenderer`, which writes exactly what prometheus-client would write for the
families of :class:`SnapshotCollector` but several times faster; formats the renderer does
not claim (OpenMetrics other than 1.0.0) go through prometheus-client's own encoder on our
own ``CollectorRegistry`` (never the global ``REGISTRY``).

prometheus-client is imported on first use, not at import time: importing it creates its
global registry and process collector.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from timeline_telemetry.metrics.model import (
    HistogramValue,
    MetricFamily,
    MetricKind,
    Snapshot,
    SummaryValue,
)
from timeline_telemetry.net.http_server import (
    DEFAULT_RESERVED_PATHS,
    HttpBounds,
    LocalHttpServer,
    Request,
    Response,
)

from .base import ExportResult, ExportStatus
from .exposition import ExpositionRenderer, format_value, openmetrics_name, openmetrics_unit
from .status import StatusTracker

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = [
    "PrometheusExporter",
    "SnapshotCollector",
    "accepts_gzip",
    "negotiate",
    "to_client_family",
]

_log = logging.getLogger(__name__)

_OPENMETRICS = "application/openmetrics-text"
_FAST_OPENMETRICS_VERSIONS = ("1.0.0",)
_TEXT_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
_OPENMETRICS_1_0_0 = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def negotiate(accept: str) -> tuple[str, bool] | None:
    """``(content type, openmetrics?)`` exactly as prometheus-client's ``choose_encoder``
    would pick for the formats our renderer writes (classic text 0.0.4, OpenMetrics 1.0.0
    with underscore escaping); None for anything else, which the caller hands to it."""
    for accepted in (accept or "").split(","):
        toks = accepted.split(";")
        media = toks[0].strip()
        params = {k.strip(): v.strip() for k, _, v in (t.partition("=") for t in toks[1:])}
        if media == _OPENMETRICS:
            version = params.get("version")
            if not version:
                return _OPENMETRICS_1_0_0, True
            if version in _FAST_OPENMETRICS_VERSIONS and params.get(
                "escaping", "underscores"
            ) == "underscores":
                return _OPENMETRICS_1_0_0 + "; escaping=underscores", True
            return None
        if media == "text/plain" and params.get("version", "0.0.4") != "0.0.4":
            return None
    return _TEXT_0_0_4, False


class SnapshotCollector:
    """A prometheus-client custom collector over our snapshots (one ``collect`` = one call
    of ``snapshot_source``). HELP comes from the catalog; no ``_created`` series."""

    def __init__(self, snapshot_source: Callable[[], Snapshot]) -> None:
        self._source = snapshot_source

    def describe(self) -> list[Metric]:
        """Nothing up front: registering must not take a snapshot."""
        return []

    def collect(self) -> Iterator[Metric]:
        """prometheus-client metric families for the current snapshot."""
        for fam in self._source().families:
            yield to_client_family(fam)


def to_client_family(fam: MetricFamily) -> Metric:
    """One of our families as a prometheus-client ``*MetricFamily`` with its samples."""
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        SummaryMetricFamily,
    )
    from prometheus_client.samples import Sample

    spec = fam.spec
    name, unit = openmetrics_name(spec), openmetrics_unit(spec)
    out: Metric
    if spec.kind is MetricKind.COUNTER:
        out = CounterMetricFamily(name, spec.help, unit=unit)
        for s in fam.series:
            out.samples.append(Sample(name + "_total", dict(s.labels), float(s.value)))  # type: ignore[arg-type]
    elif spec.kind is MetricKind.GAUGE:
        out = GaugeMetricFamily(name, spec.help, unit=unit)
        for s in fam.series:
            out.samples.append(Sample(name, dict(s.labels), float(s.value)))  # type: ignore[arg-type]
    elif spec.kind is MetricKind.HISTOGRAM:
        out = HistogramMetricFamily(name, spec.help, unit=unit)
        for s in fam.series:
            v = s.value
            assert isinstance(v, HistogramValue)
            labels = dict(s.labels)
            for bound, cum in zip(v.bounds, v.cumulative_counts, strict=True):
                le = {**labels, "le": format_value(bound)}
                out.samples.append(Sample(name + "_bucket", le, float(cum)))
            out.samples.append(Sample(name + "_count", labels, float(v.count)))
            out.samples.append(Sample(name + "_sum", labels, v.sum))
    else:
        out = SummaryMetricFamily(name, spec.help, unit=unit)
        for s in fam.series:
            v = s.value
            assert isinstance(v, SummaryValue)
            labels = dict(s.labels)
            for q, qv in v.quantiles:
                out.samples.append(Sample(name, {**labels, "quantile": format_value(q)}, qv))
            out.samples.append(Sample(name + "_count", labels, float(v.count)))
            out.samples.append(Sample(name + "_sum", labels, v.sum))
    return out


def accepts_gzip(accept_encoding: str) -> bool:
    """True if an ``Accept-Encoding`` value allows gzip (``gzip;q=0`` refuses it)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, val = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


class PrometheusExporter:
    """``MetricsExporter`` serving ``http://host:port/path`` for Prometheus to scrape.

    ``snapshot_source`` is called once per scrape on the HTTP thread (it must be thread-safe;
    ``Metrics.snapshot`` is). Pass ``server`` to share one :class:`LocalHttpServer` with other
    routes; the exporter then starts it if needed but only stops a server it created. ``http``
    bounds the server it creates (``telemetry.http``); ``path`` is one of its reserved paths,
    answered even while slow clients hold the other connections.
    """

    name = "prometheus"

    def __init__(
        self,
        *,
        snapshot_source: Callable[[], Snapshot],
        host: str = "127.0.0.1",
        port: int = 9464,
        path: str = "/metrics",
        enable_compression: bool = False,
        server: LocalHttpServer | None = None,
        http: HttpBounds | None = None,
    ) -> None:
        self._source = snapshot_source
        self.path = path
        self.enable_compression = enable_compression
        self._owns_server = server is None
        self.server = server if server is not None else LocalHttpServer(
            host, port, bounds=http, reserved_paths=(path, *DEFAULT_RESERVED_PATHS))
        self._renderer = ExpositionRenderer()
        #: The last body rendered by the fast path: (snapshot, OpenMetrics?, bytes). A scrape
        #: of the same snapshot object (nothing written since) in the same format, from a
        #: second scraper or a retry, sends these bytes again.
        self._rendered: tuple[Snapshot, bool, bytes] | None = None
        #: The format (OpenMetrics?) of a fast-path scrape since the last ``export``; None
        #: when none came: then the next collection's body is not rendered ahead.
        self._scraped_as: bool | None = None
        self._registry: Any = None  # prometheus_client.CollectorRegistry, made on first need
        self._tracker = StatusTracker(initial=ExportStatus.degraded("not started"))
        self._lock = threading.Lock()
        self._scrapes = 0
        self._started = False

    # -- MetricsExporter ------------------------------------------------------------------
    def start(self) -> None:
        """Add the route and bind (raises ``PortInUseError`` when the port is taken)."""
        if self._started:
            return
        self.server.add_route(self.path, self._handle)
        try:
            self.server.start()
        except OSError as exc:
            self.server.remove_route(self.path)
            self._tracker.fatal(str(exc))
            raise
        self._started = True
        self._tracker.set(ExportStatus.healthy())

    def export(self, snapshot: Snapshot) -> ExportResult:
        """Pull model: scrapes read live data. A scrape came since the last collection: this
        snapshot's body is rendered now, in that scrape's format (see the module docstring);
        a render that fails here is left to the scrape, which reports it."""
        openmetrics, self._scraped_as = self._scraped_as, None
        if openmetrics is None or _live(snapshot, openmetrics):
            return ExportResult.SUCCESS  # not scraped lately, or never kept
        try:
            self._render_kept(snapshot, openmetrics)
        except Exception:
            _log.debug("rendering ahead failed; the scrape renders", exc_info=True)
        return ExportResult.SUCCESS

    def status(self) -> ExportStatus:
        """Healthy while serving; Failed if the server could not bind or died;
        Degraded/Failed while scrapes fail to render (see :class:`StatusTracker`)."""
        if self._started:
            failure = self.server.failure
            if failure is not None:
                return ExportStatus.failed(failure)
            if not self.server.running:
                return ExportStatus.failed("the HTTP server is not running")
        return self._tracker.status()

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Stop serving (and stop the server if this exporter created it); idempotent."""
        if not self._started:
            return
        self._started = False
        self.server.remove_route(self.path)
        if self._owns_server:
            self.server.shutdown(timeout_s)
        self._tracker.set(ExportStatus.degraded("stopped"))

    # -- extras ---------------------------------------------------------------------------
    @property
    def scrape_count(self) -> int:
        """Scrapes answered with 200 since creation."""
        return self._scrapes

    @property
    def errors(self) -> int:
        """Scrapes that failed to render, plus bind failures."""
        return self._tracker.errors

    @property
    def url(self) -> str:
        """Where Prometheus should scrape (the bound port, once started)."""
        return self.server.url(self.path)

    def describe(self) -> str:
        """One log line for the CLI."""
        gz = " (gzip when asked)" if self.enable_compression else ""
        return f"serving Prometheus metrics on {self.url}{gz}"

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """Body and content type for a scrape with this ``Accept`` header (no compression)."""
        fast = negotiate(accept)
        if fast is not None:
            content_type, openmetrics = fast
            return self._render_fast(openmetrics), content_type
        # Rare headers (other OpenMetrics versions or escapings): prometheus-client decides.
        # Imported only here: in the running agent it adds ~1 MB of RSS (9 MB on its own).
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept)
        if content_type.startswith(_OPENMETRICS):
            version = _param(content_type, "version")
            if version not in _FAST_OPENMETRICS_VERSIONS:
                return encoder(self._client_registry()), content_type
            return self._renderer.render(self._source(), openmetrics=True), content_type
        return self._renderer.render(self._source()), content_type

    # -- internals ------------------------------------------------------------------------
    def _render_fast(self, openmetrics: bool) -> bytes:
        """Our renderer's body for the current snapshot, reused while the snapshot is the
        same object (nothing was written since). OpenMetrics with exemplars is always
        rendered: the exemplar store is live."""
        self._scraped_as = openmetrics
        snap = self._source()
        done = self._rendered
        if done is not None and done[0] is snap and done[1] is openmetrics and \
                not _live(snap, openmetrics):
            return done[2]
        return self._render_kept(snap, openmetrics)

    def _render_kept(self, snap: Snapshot, openmetrics: bool) -> bytes:
        """Render ``snap`` and keep the body for the scrapes of the same snapshot."""
        body = self._renderer.render(snap, openmetrics=openmetrics)
        self._rendered = (snap, openmetrics, body)
        return body

    def _client_registry(self) -> Any:
        with self._lock:
            if self._registry is None:
                from prometheus_client import CollectorRegistry

                registry = CollectorRegistry(auto_describe=False)
                registry.register(SnapshotCollector(self._source))
                self._registry = registry
            return self._registry

    def _handle(self, req: Request) -> Response:
        try:
            body, content_type = self.render(req.header("accept"))
        except Exception as exc:
            _log.exception("rendering /metrics failed")
            self._tracker.failure(f"scrape failed: {exc}")
            return Response.text(500, f"could not render metrics: {exc}\n")
        headers: list[tuple[str, str]] = []
        if self.enable_compression:
            headers.append(("Vary", "Accept-Encoding"))
            if accepts_gzip(req.header("accept-encoding")):
                body = gzip.compress(body, compresslevel=6)
                headers.append(("Content-Encoding", "gzip"))
        with self._lock:
            self._scrapes += 1
        self._tracker.success()
        return Response(200, body, content_type, tuple(headers))


def _live(snap: Snapshot, openmetrics: bool) -> bool:
    """OpenMetrics with exemplars: the exemplar store is live, so such a body is never
    reused (nor rendered ahead)."""
    return openmetrics and snap.exemplars is not None


def _param(content_type: str, key: str) -> str:
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k == key:
            return v.strip()
    return ""

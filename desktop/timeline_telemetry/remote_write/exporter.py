"""Prometheus remote-write 1.0 sender that reads from the local history with a durable cursor.

Why from the history and not from a queue of snapshots: the history already keeps every
sample across a receiver outage, a laptop asleep or an agent restart. The sender's one
thread reads rows after its cursor, oldest first, in batches of ``max_samples_per_send``,
POSTs each as a snappy-compressed ``WriteRequest`` and moves the cursor on once the receiver
answered 2xx. So a gap is sent in time order and then the sender is live again; nothing in
the collection path waits for the network (``export`` only wakes the thread).

Outcomes, per the remote-write spec:

* 2xx: delivered; the cursor moves.
* 5xx, 429, no connection: retried with exponential backoff (``min_backoff`` doubling to
  ``max_backoff``), or after the server's ``Retry-After`` (bounded by ``max_retry_after``);
  the cursor stays, so the batch is read again.
* 401, 403, 404: the configuration is wrong (password, URL). Retrying the batch cannot
  help, but dropping it would throw the backlog away for a typo: the cursor stays, the
  status is ``Failed`` with the server's answer, and the sender tries again every
  ``max_backoff`` until the config is fixed (still within ``max_age``).
* any other 4xx (400 out of bounds, 413...): the batch is dropped, counted
  (``telemetry_remote_write_samples_dropped_total``) with the server's message (cut to
  200 characters), and the cursor moves past it.

The backfill starts no earlier than ``max_age`` ago, and is paced to
``max_samples_per_second`` so a long gap does not flood the receiver or the uplink.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from timeline_telemetry import __version__
from timeline_telemetry.config.secrets import KeyringGet, SecretError, resolve_secret
from timeline_telemetry.export.base import ExportResult, ExportStatus
from timeline_telemetry.export.status import StatusTracker
from timeline_telemetry.metrics.api import Metrics
from timeline_telemetry.metrics.model import Labels, Snapshot
from timeline_telemetry.net.http_headers import retry_after_seconds
from timeline_telemetry.net.urls import redact_url

from .proto import encode_labels, encode_write_request
from .source import Cursor, CursorFile, HistorySource, MemorySource, SampleSource

if TYPE_CHECKING:
    import http.client

    from timeline_telemetry.config.schema import RemoteWriteExporterConfig

__all__ = ["RemoteWriteExporter", "cursor_path"]

_log = logging.getLogger(__name__)

_USER_AGENT = f"timeline-telemetry/{__version__}"
#: Statuses after which the same batch is sent again later.
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
#: Statuses that mean "this sender is misconfigured": hold the data, do not drop it.
_BLOCKING = frozenset({401, 403, 404, 407})
_MAX_RESPONSE_BYTES = 64 * 1024
_MAX_MESSAGE_CHARS = 200
#: The cursor is written at most this often while sending (and always when stopping): a
#: crash resends at most this much, which receivers ignore as duplicates.
_SAVE_EVERY_S = 5.0
#: Wake up this often even without a collection (another process may write the history).
_POLL_S = 5.0
#: Behind by more than this, the status says so (still Healthy: it is catching up).
_BEHIND_NOTE_S = 60.0


def cursor_path(data_dir: Path, url: str) -> Path:
    """Where the cursor for ``url`` lives: one file per receiver, so adding a second
    receiver backfills it from the start of ``max_age`` without disturbing the first."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return data_dir / "remote_write" / f"{digest}.cursor.json"


class _SendError(Exception):
    def __init__(self, message: str, *, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s


class RemoteWriteExporter:
    """A :class:`~timeline_telemetry.export.base.MetricsExporter` pushing to ``config.url``.

    ``history_path`` None uses an in-memory buffer (see :mod:`.source`).
    ``job`` / ``instance`` are the default labels (``external_labels`` override them).
    Thread-safety: ``export`` and ``status`` may be called from any thread; all network and
    history I/O happens on the exporter's own thread.
    """

    def __init__(
        self,
        config: RemoteWriteExporterConfig,
        *,
        history_path: Path | None,
        cursor_file: Path,
        job: str,
        instance: str,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] = os.environ,
        keyring_get: KeyringGet | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.url = config.url
        self._parts: SplitResult = urlsplit(config.url)
        if self._parts.scheme not in ("http", "https") or not self._parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(config.url)}")
        self._target = (self._parts.path or "/") + (
            f"?{self._parts.query}" if self._parts.query else "")
        self.name = f"remote_write:{self._parts.hostname}:{self._port()}"
        self._history_path = history_path
        self._memory = MemorySource() if history_path is None else None
        self._source: SampleSource | None = None
        self._cursor_file = CursorFile(cursor_file, redact_url(config.url))
        extra = dict(config.external_labels)
        self._job = extra.pop("job", job)
        self._instance = extra.pop("instance", instance)
        self._external = tuple(sorted(extra.items()))
        self._metrics = metrics
        self._clock = clock
        self._environ = environ
        self._keyring_get = keyring_get
        self._ssl_context = ssl_context
        self._conn: http.client.HTTPConnection | None = None
        self._labels_cache: dict[int, bytes | None] = {}
        self._tracker = StatusTracker()
        self._catching_up = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # What the status and the tests read (under _lock).
        self._cursor: Cursor = (0, 0)
        self._newest_ms: int | None = None
        self.sent_samples = 0
        self.sent_requests = 0
        self.sent_bytes = 0
        self.dropped_samples = 0
        self.last_drop = ""
        self._saved: Cursor | None = None
        self._saved_at = 0.0

    # -- MetricsExporter -----------------------------------------------------------------
    def start(self) -> None:
        """Load the cursor and start the sender thread (nothing is sent before it runs)."""
        if self._thread is not None:
            return
        saved = self._cursor_file.load()
        floor = self._floor_ms()
        if saved is not None and saved[0] > self._clock() * 1000 + 60_000:
            # Saved under a clock that was ahead: waiting for it would hold everything back.
            _log.warning("%s: the saved cursor is in the future (%s); resending from max_age",
                         self.name, _iso(saved[0] / 1000))
            saved = None
        self._cursor = max(saved or (0, 0), (floor, 0))
        if saved is not None and saved[0] < floor:
            _log.info("%s: the samples before %s are older than max_age and are not sent",
                      self.name, _iso(floor / 1000))
        self._saved = saved
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"telemetry-export-{self.name}",
                                        daemon=True)
        self._thread.start()  # (the runtime logs describe() with the other exporters)

    def export(self, snapshot: Snapshot) -> ExportResult:
        """Wake the sender: the history has just committed ``snapshot``."""
        if self._memory is not None:
            self._memory.add(snapshot.timestamp, snapshot.flat_samples())
        self._wake.set()
        return ExportResult.SUCCESS

    def status(self) -> ExportStatus:
        """From real outcomes only. How far behind a backfill is goes to the log and the
        ``telemetry_remote_write_behind_seconds`` gauge, not here: a status whose text
        changed every few seconds would read as a new event each time."""
        return self._tracker.status()

    def shutdown(self, *, timeout_s: float = 5.0) -> None:
        """Stop the thread (an in-flight request gets up to ``timeout_s``), save the cursor."""
        thread, self._thread = self._thread, None
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                _log.warning("%s: the sender did not stop within %.1f s", self.name, timeout_s)
        self._save_cursor(force=True)
        self._tracker.set(ExportStatus.degraded("stopped"))

    # -- what the API, the bench and the tests read -----------------------------------------
    def describe(self) -> str:
        """One log line (no secrets: the URL without user info or query, header names)."""
        heads = ", ".join(sorted(self.config.headers)) or "none"
        auth = " with basic auth" if self.config.basic_auth is not None else ""
        source = "the history" if self._memory is None else "memory (history disabled)"
        return (f"remote-write to {redact_url(self.url)}{auth} from {source} "
                f"(job={self._job}, instance={self._instance}, headers: {heads})")

    @property
    def cursor(self) -> Cursor:
        """The last ``(ts_ms, series_id)`` delivered or dropped."""
        with self._lock:
            return self._cursor

    def behind_s(self) -> float:
        """How far the cursor is behind the newest sample, in seconds."""
        with self._lock:
            if self._newest_ms is None:
                return 0.0
            return max(0.0, (self._newest_ms - self._cursor[0]) / 1000)

    # -- the sender thread ---------------------------------------------------------------
    def _run(self) -> None:
        self._source = self._memory if self._memory is not None else HistorySource(
            self._history_path or Path())
        attempt = 0
        next_send = 0.0
        try:
            while not self._stop.is_set():
                self._wake.clear()  # a wake from here on means "read again"
                try:
                    progressed = self._send_batch()
                except _SendError as exc:
                    attempt += 1
                    wait = self._after_failure(exc, attempt)
                    self._stop.wait(wait)
                    continue
                except Exception as exc:  # the history unreadable, a bug: keep the thread
                    attempt += 1
                    self._tracker.failure(f"reading the history failed: {exc}")
                    _log.warning("%s: %s", self.name, exc, exc_info=True)
                    self._stop.wait(self._backoff(attempt))
                    continue
                attempt = 0
                if progressed:
                    # Pace the backfill: a batch of n samples "costs" n / rate seconds.
                    next_send = max(next_send, time.monotonic()) + (
                        progressed / self.config.queue.max_samples_per_second)
                    delay = next_send - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    continue
                self._save_cursor()
                self._wake.wait(_POLL_S)
        finally:
            self._close_conn()
            if self._source is not None and self._memory is None:
                self._source.close()

    def _send_batch(self) -> int:
        """Send the next batch; the number of samples it held (0: nothing to send)."""
        src = self._source
        assert src is not None
        floor = self._floor_ms()
        with self._lock:
            after = max(self._cursor, (floor, 0))
        batch = src.read(after, self.config.queue.max_samples_per_send)
        newest = src.newest_ts()
        with self._lock:
            self._newest_ms = newest
        # How far behind: from the oldest sample actually waiting, not from max_age.
        self._note_backlog(batch.rows[0][0] if batch.rows else None)
        if not batch.rows:
            with self._lock:
                self._cursor = after
            return 0
        grouped: dict[int, list[tuple[int, float]]] = {}
        for ts, sid, value in batch.rows:
            grouped.setdefault(sid, []).append((ts, value))
        series: list[tuple[bytes, list[tuple[int, float]]]] = []
        for sid, samples in grouped.items():
            labels = self._labels(src, sid)
            if labels is not None:
                series.append((labels, samples))
        n = len(batch.rows)
        body = encode_write_request(series) if series else b""
        if body:
            try:
                size = self._post(body)
            except _SendError as exc:
                if exc.status is None or exc.status in _RETRYABLE or exc.status in _BLOCKING:
                    raise
                self._dropped(n, exc.message)
            else:
                self._delivered(n, size)
        with self._lock:
            self._cursor = batch.last
        self._note_backlog()
        self._save_cursor()
        return n

    def _note_backlog(self, oldest_pending_ms: int | None = None) -> None:
        """Publish how far behind the sender is; log a backfill's start and end once."""
        behind = self.behind_s()
        if oldest_pending_ms is not None and self._newest_ms is not None:
            behind = min(behind, max(0.0, (self._newest_ms - oldest_pending_ms) / 1000))
        if self._metrics is not None:
            self._metrics.set_gauge("telemetry_remote_write_behind_seconds", behind,
                                    {"exporter": self.name})
        if behind > _BEHIND_NOTE_S and not self._catching_up:
            self._catching_up = True
            _log.info("%s: sending %s of samples held locally, oldest first", self.name,
                      _span(behind))
        elif behind <= _BEHIND_NOTE_S / 2 and self._catching_up:
            self._catching_up = False
            _log.info("%s: caught up", self.name)

    def _labels(self, src: SampleSource, sid: int) -> bytes | None:
        cached = self._labels_cache.get(sid, b"")
        if cached != b"":
            return cached
        found = src.series(sid)
        encoded = None if found is None else encode_labels(self._series_labels(*found))
        if len(self._labels_cache) >= 100_000:
            self._labels_cache.clear()
        self._labels_cache[sid] = encoded
        return encoded

    def _series_labels(self, name: str, labels: Labels) -> list[tuple[str, str]]:
        """``__name__``, the series' labels (its own ``job``/``instance`` renamed
        ``exported_*`` as a scrape does), then ``job``, ``instance`` and the external labels
        the series does not already have."""
        out: dict[str, str] = {"__name__": name}
        for k, v in labels:
            out[f"exported_{k}" if k in ("job", "instance") else k] = v
        out["job"] = self._job
        out["instance"] = self._instance
        for k, v in self._external:
            out.setdefault(k, v)
        return list(out.items())

    def _delivered(self, n: int, size: int) -> None:
        with self._lock:
            self.sent_samples += n
        self._tracker.success()
        if self._metrics is not None:
            attrs = {"exporter": self.name}
            self._metrics.increment_counter("telemetry_remote_write_samples_sent_total", n, attrs)
            self._metrics.increment_counter("telemetry_remote_write_sent_bytes_total", size, attrs)

    def _dropped(self, n: int, message: str) -> None:
        with self._lock:
            self.dropped_samples += n
            self.last_drop = message
        text = f"dropped {n} samples: {message}"
        self._tracker.failure(text)
        _log.warning("%s: %s", self.name, text)
        if self._metrics is not None:
            self._metrics.increment_counter(
                "telemetry_remote_write_samples_dropped_total", n,
                {"exporter": self.name, "reason": "rejected"})

    def _after_failure(self, exc: _SendError, attempt: int) -> float:
        """Record a failure; the seconds to wait before the next try."""
        q = self.config.queue
        if exc.status in _BLOCKING:
            self._tracker.fatal(exc.message)
            wait = q.max_backoff
        else:
            self._tracker.failure(exc.message)
            wait = self._backoff(attempt)
        if exc.retry_after_s is not None:
            wait = min(max(wait, exc.retry_after_s), q.max_retry_after)
        if self._metrics is not None:
            self._metrics.increment_counter(
                "telemetry_export_errors_total", 1, {"exporter": self.name})
        return wait

    def _backoff(self, attempt: int) -> float:
        q = self.config.queue
        base = min(q.max_backoff, q.min_backoff * 2.0 ** min(attempt - 1, 30))
        return base * (0.8 + 0.4 * random.random())

    def _floor_ms(self) -> int:
        return max(0, math.floor((self._clock() - self.config.max_age) * 1000))

    def _save_cursor(self, *, force: bool = False) -> None:
        with self._lock:
            cursor = self._cursor
        now = time.monotonic()
        if cursor == self._saved or (not force and now - self._saved_at < _SAVE_EVERY_S):
            return
        try:
            self._cursor_file.save(cursor)
        except OSError as exc:
            _log.warning("%s: cannot save the cursor %s: %s", self.name,
                         self._cursor_file.path, exc)
            return
        self._saved, self._saved_at = cursor, now

    # -- HTTP ---------------------------------------------------------------------------
    def _post(self, body: bytes) -> int:
        """POST ``body`` compressed; the bytes sent. Raises :class:`_SendError`."""
        import http.client

        import cramjam

        payload = bytes(cramjam.snappy.compress_raw(body))
        headers = {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            "User-Agent": _USER_AGENT,
            **self._resolved_headers(),
        }
        where = redact_url(self.url)
        try:
            conn = self._connection()
            conn.request("POST", self._target, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read(_MAX_RESPONSE_BYTES)
            if not resp.isclosed():
                self._close_conn()  # an answer larger than we read: do not reuse
        except (OSError, http.client.HTTPException) as exc:
            self._close_conn()
            raise _SendError(f"cannot reach {where}: {_describe(exc)}") from None
        if resp.getheader("Connection", "").lower() == "close":
            self._close_conn()
        with self._lock:
            self.sent_requests += 1
            self.sent_bytes += len(payload)
        if 200 <= resp.status < 300:
            return len(payload)
        message = _message(data)
        raise _SendError(
            f"{where} answered HTTP {resp.status} {resp.reason}".rstrip()
            + (f": {message}" if message else ""),
            status=resp.status,
            retry_after_s=retry_after_seconds(resp.getheader("Retry-After")),
        )

    def _resolved_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            for key, value in self.config.headers.items():
                out[key] = resolve_secret(value, environ=self._environ,
                                          keyring_get=self._keyring_get)
            auth = self.config.basic_auth
            if auth is not None:
                import base64

                password = resolve_secret(auth.password, environ=self._environ,
                                          keyring_get=self._keyring_get)
                token = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
                out["Authorization"] = f"Basic {token}"
        except SecretError as exc:
            raise _SendError(f"a secret is unavailable: {exc}", status=401) from None
        return out

    def _port(self) -> int:
        return self._parts.port or (443 if self._parts.scheme == "https" else 80)

    def _connection(self) -> http.client.HTTPConnection:
        import http.client

        timeout = self.config.timeout
        conn = self._conn
        if conn is None:
            host = self._parts.hostname or "localhost"
            if self._parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, self._port(), timeout=timeout,
                    context=self._ssl_context or ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(host, self._port(), timeout=timeout)
            self._conn = conn
        return conn

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _message(data: bytes) -> str:
    """The server's answer as one printable line of at most 200 characters."""
    text = data.decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 3] + "..."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the receiver running?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

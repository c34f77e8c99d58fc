"""Reading what goes into a bundle from the files the agent leaves behind (it need not run).

Every function here returns plain data or text; scrubbing and size accounting are the
bundle's. Services (environ, keyring getter, HTTP fetch) are arguments.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import (
    FileExporterConfig,
    PrometheusExporterConfig,
    TelemetryConfig,
)
from timeline_telemetry.config.secrets import KeyringGet, SecretError, is_secret_ref, resolve_secret
from timeline_telemetry.export.file import rotated_files
from timeline_telemetry.logs.tail import editor_log_files
from timeline_telemetry.paths import AppPaths

from .scrub import SECRET_KEY

__all__ = [
    "TailedFile",
    "agent_log_files",
    "config_secret_values",
    "editor_log_files",
    "history_path",
    "log_files",
    "otlp_lines_in_window",
    "scrape_prometheus",
    "tail_file",
    "trace_files",
]

_log = logging.getLogger(__name__)
_ROTATED_BACKUPS = 9


def config_secret_values(
    config: TelemetryConfig,
    *,
    environ: Mapping[str, str] = os.environ,
    keyring_get: KeyringGet | None = None,
) -> list[str]:
    """Every secret the config points to or holds: resolved ``keyring:``/``env:`` references
    (unresolvable ones are skipped) and literal values under secret-looking keys/headers."""
    found: list[str] = []

    def walk(value: object, secret: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, secret or k == "headers" or bool(SECRET_KEY.search(str(k))))
        elif isinstance(value, list):
            for v in value:
                walk(v, secret)
        elif isinstance(value, str):
            if is_secret_ref(value):
                with contextlib.suppress(SecretError):
                    found.append(resolve_secret(value, environ=environ, keyring_get=keyring_get))
            elif secret and value:
                found.append(value)

    walk(config_to_json(config, mask_secrets=False), False)
    return found


def history_path(config: TelemetryConfig, paths: AppPaths) -> Path | None:
    """The history file if history is enabled and the file exists (never created here)."""
    hcfg = config.metrics.history
    if not hcfg.enabled:
        return None
    path = Path(hcfg.path or (paths.data_dir / "history.sqlite3"))
    return path if path.exists() else None


def trace_files(config: TelemetryConfig) -> list[Path]:
    """The trace File exporters' files, oldest first (rotated copies included)."""
    out: list[Path] = []
    for exp in config.tracing.exporters:
        if isinstance(exp, FileExporterConfig):
            out.extend(rotated_files(Path(exp.path), exp.backups))
    return out


def log_files(config: TelemetryConfig, paths: AppPaths) -> list[Path]:
    """The received-logs file (``ingest.logs_file``) and its rotated copies, oldest first."""
    from timeline_telemetry.ingest.receiver import default_logs_file

    path = config.ingest.logs_file or default_logs_file(paths.data_dir)
    return rotated_files(Path(path), _ROTATED_BACKUPS)


def otlp_lines_in_window(files: Sequence[Path], *, start: float) -> Iterator[object]:
    """Decoded OTLP-JSON requests (traces or logs) with at least one item ending at or after
    ``start`` (Unix seconds); unreadable lines and files are skipped."""
    start_ns = int(start * 1e9)
    for path in files:
        try:
            f = open(path, "rb")  # noqa: SIM115 (closed by the with-block below)
        except OSError:
            continue
        with f:
            for raw in f:
                if not raw.endswith(b"\n") or not raw.strip():
                    continue
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue
                if _latest_ns(data) >= start_ns:
                    yield data


def _latest_ns(value: object) -> int:
    best = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                if k in ("endTimeUnixNano", "timeUnixNano", "observedTimeUnixNano"):
                    with contextlib.suppress(TypeError, ValueError):
                        best = max(best, int(item))
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)
    return best


class TailedFile:
    """A text file's last ``max_bytes`` (whole lines): ``text`` and whether it was cut."""

    def __init__(self, path: Path, text: str, truncated: bool, size: int) -> None:
        self.path = path
        self.text = text
        self.truncated = truncated
        self.size = size


def tail_file(path: Path, max_bytes: int) -> TailedFile | None:
    """The end of ``path`` (at most ``max_bytes``, starting at a line), or None if unreadable."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            f.seek(start)
            data = f.read()
    except OSError:
        return None
    if start > 0:
        nl = data.find(b"\n")
        data = data[nl + 1:] if nl >= 0 else b""
    return TailedFile(path, data.decode("utf-8", errors="replace"), start > 0, size)


def agent_log_files(paths: AppPaths) -> list[Path]:
    """The agent's own rotating logs, oldest first."""
    from timeline_telemetry.logsetup import LOG_FILE_NAME

    return rotated_files(paths.log_dir / LOG_FILE_NAME, _ROTATED_BACKUPS)


Fetch = Callable[[str, float], bytes]


#: A live /metrics answer larger than this is cut (a bundle is for reading, not a dump).
MAX_SCRAPE_BYTES = 32 * 1024 * 1024


def fetch_bounded(url: str, timeout: float) -> bytes:
    """``GET url`` within ``timeout`` seconds per read, at most :data:`MAX_SCRAPE_BYTES`."""
    from timeline_telemetry.net.urls import loopback_url

    url = loopback_url(url)
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read(MAX_SCRAPE_BYTES)
        return body



def scrape_prometheus(
    config: TelemetryConfig, *, fetch: Fetch = fetch_bounded, timeout: float = 2.0
) -> str | None:
    """The running agent's ``/metrics`` text from its first Prometheus exporter, or None
    (no exporter, port 0, or the agent is not running)."""
    for exp in config.metrics.exporters:
        if isinstance(exp, PrometheusExporterConfig) and exp.port:
            host = "127.0.0.1" if exp.host in ("0.0.0.0", "", "::") else exp.host
            if ":" in host:
                host = f"[{host}]"
            try:
                return fetch(f"http://{host}:{exp.port}{exp.path}", timeout).decode(
                    "utf-8", errors="replace")
            except (OSError, ValueError) as exc:
                _log.debug("no live metrics from the agent: %s", exc)
                return None
    return None

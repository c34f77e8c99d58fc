"""``timeline-telemetry bundle``: the command-line face of :func:`~.bundle.build_bundle`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from timeline_telemetry.config.schema import TelemetryConfig
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.redact import PseudonymPolicy

from .bundle import DEFAULT_SIZE_CAP, BundleResult, build_bundle
from .providers import Providers

__all__ = ["default_bundle_name", "run_bundle_command"]

EXIT_OK = 0
EXIT_FAILED = 2


def default_bundle_name(now: float | None = None, *, hide_host: bool = False) -> str:
    """``timeline-telemetry-diagnostics-<host>-<YYYYmmdd-HHMMSS>.zip`` (local time);
    ``hide_host`` (host names pseudonymised) puts ``host`` for the host name, so the file
    name does not give away what the bundle hides."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    host = "" if hide_host else \
        "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"timeline-telemetry-diagnostics-{host or 'host'}-{stamp}.zip"


def run_bundle_command(
    config: TelemetryConfig,
    paths: AppPaths,
    *,
    out: Path | None,
    since_s: float,
    preview: bool,
    stdout: TextIO,
    stderr: TextIO,
    size_cap: int = DEFAULT_SIZE_CAP,
    pseudonymize: PseudonymPolicy | None = None,
) -> int:
    """Build (or, with ``preview``, list) the bundle; progress goes to ``stderr``, the
    listing or the written path to ``stdout``. ``pseudonymize``: see
    :func:`~.bundle.build_bundle` (``None``: the defaults the tray uses too).
    Returns 0, or 2 if it cannot be written."""
    policy = pseudonymize if pseudonymize is not None else PseudonymPolicy()
    if out is None:
        target = Path.cwd() / default_bundle_name(hide_host=policy.hosts)
    elif out.is_dir():  # a folder (``-o ~/Desktop``): the default file name inside it
        target = out / default_bundle_name(hide_host=policy.hosts)
    else:
        target = out

    def progress(step: str, fraction: float) -> None:
        stderr.write(f"[{fraction * 100:3.0f}%] {step}\n")
        stderr.flush()

    from timeline_telemetry.alerts.store import alerts_from_file
    from timeline_telemetry.runtime.client import read_live

    from .live import agent_api_providers, alerts_store_path

    alerts_db = alerts_store_path(config, paths.data_dir)
    live = read_live(paths.data_dir)
    if live is not None and live.error is None:
        stderr.write(f"reading the running agent: {live.info.mode} (pid {live.info.pid}) "
                     f"at {live.info.api}\n")
        providers = agent_api_providers(live, alerts_db)
    else:
        if live is None:
            stderr.write(f"no agent is running for {paths.data_dir}: the bundle holds what "
                         "is on disk, and health from a one-off run of the checks\n")
        else:
            stderr.write(f"an agent runs ({live.info.mode}, pid {live.info.pid}) but its "
                         f"live state could not be read: {live.error}\n")
        why = ("no agent is running for this home" if live is None else
               f"the running agent (pid {live.info.pid}) did not answer: {live.error}")
        providers = _logged_providers(config, paths, since_s=since_s, why=why, alerts=(
            lambda: alerts_from_file(alerts_db) or {
                "note": f"no alert store at {alerts_db} (alerting has not run here)"}))
    try:
        result = build_bundle(config=config, paths=paths, out=target, since_s=since_s,
                              preview=preview, progress=progress, size_cap=size_cap,
                              providers=providers, pseudonymize=policy)
    except OSError as exc:
        stderr.write(f"timeline-telemetry: cannot write the bundle {target}: {exc}\n")
        return EXIT_FAILED
    _print(result, stdout, preview=preview)
    return EXIT_OK


def _logged_providers(config: TelemetryConfig, paths: AppPaths, *, since_s: float, why: str,
                      alerts: Callable[[], object]) -> Providers:
    """Without a live agent: health from a one-off run of the checks, and the exporters'
    failures and the health transitions the agent logged in the window (so a bundle made
    after it stopped still says which exporter failed and when the health changed)."""
    from . import sources
    from .agent_events import agent_log_events
    from .live import one_off_health

    files = sources.agent_log_files(paths)
    events = agent_log_events(files, start=time.time() - since_s)

    def export_status() -> object:
        if not events.exporters:
            return {"available": False, "note": why}
        return {"source": f"the agent's log ({why}): each exporter as last logged in the "
                          "window", "exporters": events.exporters}

    return Providers(alerts=alerts, export_status=export_status,
                     health=one_off_health(config, paths.data_dir,
                                           logged=events.transitions if files else None))


def _print(result: BundleResult, out: TextIO, *, preview: bool) -> None:
    if preview:
        out.write("The bundle would contain (after scrubbing):\n")
        for e in result.entries:
            out.write(f"  {e.size:>10}  {e.name:32}  {e.description}\n")
        out.write(f"  {result.total_bytes:>10}  total\n")
    for item in result.left_out:
        out.write(f"left out: {item['what']}: {item['why']}\n")
    scrubbed = ", ".join(f"{k} {v}" for k, v in sorted(result.scrubbed.items())) or "nothing"
    out.write(f"scrubbed: {scrubbed}\n")
    report = result.manifest.get("pseudonymised")
    counts = report.get("counts") if isinstance(report, dict) else None
    if isinstance(counts, dict):
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
        out.write(f"pseudonymised: {shown}\n")
    if result.path is not None:
        out.write(f"wrote {result.path}\n")

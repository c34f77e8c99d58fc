"""``build_bundle``: one zip support can read without our tools.

The bundle is assembled as a list of entries (name, text, description) that all pass through
one :class:`~.scrub.Scrubber`; then the size cap is applied (the history CSV is cut from its
oldest end first), and the zip is written next to ``out`` and renamed into place. It reads
files directly, so it works when the agent is not running; live data (snapshot, health
transitions, alerts, export status) come from optional providers the tray passes in.
Synchronous: callers with a UI run it on a worker thread and show ``progress``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
import zipfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import FfmpegCheckConfig, TelemetryConfig
from timeline_telemetry.config.secrets import KeyringGet
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.redact import Identity, Pseudonymiser, PseudonymPolicy

from . import sources
from .providers import JsonProvider, Providers, TracesProvider
from .scrub import Scrubber, machine_identity
from .summary import SUMMARY_NAME, summary_markdown
from .sysinfo import RunCommand
from .timefmt import localize_times

__all__ = [
    "BUNDLE_VERSION",
    "DEFAULT_SIZE_CAP",
    "BundleEntry",
    "BundleResult",
    "build_bundle",
]

BUNDLE_VERSION = 1
DEFAULT_SIZE_CAP = 50 * 1024 * 1024
HISTORY_CSV = "metrics/history.csv"
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class BundleEntry:
    """One file of the bundle (after scrubbing)."""

    name: str
    size: int
    description: str


@dataclass
class BundleResult:
    """What was (or, with ``preview``, would be) written."""

    path: Path | None
    entries: list[BundleEntry]
    scrubbed: dict[str, int]
    left_out: list[dict[str, str]]
    total_bytes: int
    manifest: dict[str, object] = field(default_factory=dict)


class _Assembler:
    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber
        self.files: dict[str, tuple[bytes, str]] = {}
        self.left_out: list[dict[str, str]] = []

    def text(self, name: str, text: str, description: str) -> None:
        self.files[name] = (self.scrubber.text(text).encode("utf-8"), description)

    def json(self, name: str, value: object, description: str) -> None:
        self.files[name] = (self.scrubber.json_text(value).encode("utf-8"), description)

    def leave_out(self, what: str, why: str) -> None:
        self.left_out.append({"what": what, "why": why})

    def size(self) -> int:
        return sum(len(b) for b, _ in self.files.values())


def build_bundle(
    *,
    config: TelemetryConfig,
    paths: AppPaths,
    out: Path,
    since_s: float = 2 * 3600.0,
    preview: bool = False,
    progress: Progress | None = None,
    providers: Providers | None = None,
    size_cap: int = DEFAULT_SIZE_CAP,
    editor_log_globs: Sequence[str] = (),
    pseudonymize: PseudonymPolicy | None = None,
    identity: Identity | None = None,
    environ: Mapping[str, str] | None = None,
    keyring_get: KeyringGet | None = None,
    psutil_mod: ModuleType | None = None,
    run: RunCommand | None = None,
    clock: Callable[[], float] = time.time,
    max_points_per_series: int = 720,
    log_cap: int = 8 * 1024 * 1024,
    process_sample_s: float = 0.5,
    run_health_checks: bool = True,
) -> BundleResult:
    """Collect, scrub and zip the diagnostics bundle into ``out`` (``preview``: nothing is
    written; the result lists the files and sizes that would go in).

    ``since_s`` is the window for history, traces and logs. ``editor_log_globs`` (default:
    ``config.editor.log_globs``) pick the editor's own log files.
    ``pseudonymize`` says which personal names get stable pseudonyms (default: home paths
    and the user name, not host names and private IPs: the CLI's and the tray's common
    default); ``identity`` (default: this session's user, home and host name) says whose.
    ``size_cap`` bounds the sum of the files (uncompressed); the history is trimmed from its
    oldest end first.
    ``log_cap`` bounds each of traces, received logs, agent logs and editor logs (newest
    kept). ``environ``/``keyring_get`` resolve the config's secret references so their values can
    be removed everywhere. Without a ``providers.health``, ``run_health_checks`` runs the
    configured checks once (at most the sum of their timeouts). Raises ``OSError`` if
    ``out`` cannot be written.
    """
    import psutil as _psutil

    from .drives import configured_paths
    from .sysinfo import process_info, run_command, system_info

    environ = os.environ if environ is None else environ
    providers = providers or Providers()
    ps = psutil_mod if psutil_mod is not None else _psutil
    report: Progress = progress or (lambda _step, _f: None)
    now = clock()
    start = now - since_s

    policy = pseudonymize if pseudonymize is not None else PseudonymPolicy()
    who = identity if identity is not None else machine_identity(environ)
    scrubber = Scrubber(
        secrets=sources.config_secret_values(config, environ=environ, keyring_get=keyring_get),
        pseudonyms=Pseudonymiser(who, policy),
    )
    asm = _Assembler(scrubber)

    report("configuration", 0.05)
    asm.json("config.json", {"source": config.source, **config_to_json(config,
             mask_secrets=False)}, "the effective configuration, secrets removed")

    report("system information", 0.1)
    ffmpeg_path = next((c.path for c in (config.health.checks or ())
                        if isinstance(c, FfmpegCheckConfig) and c.path), None)
    drives = configured_paths(media_dirs=config.editor.media_dirs,
                              cache_dirs=config.editor.cache_dirs,
                              disk_paths=config.metrics.collectors.disk_paths,
                              data_dir=paths.data_dir)
    asm.json("system.json", system_info(psutil_mod=ps, run=run or run_command,
             ffmpeg=ffmpeg_path, configured_paths=drives, environ=environ),
             "OS and distribution, host, time zone, locale, uptime, CPU, memory, the "
             "configured drives and all disks, GPUs, displays, versions, ffmpeg")
    report("processes", 0.2)
    _processes(asm, config, paths, process_info(psutil_mod=ps, sample_s=process_sample_s),
               start=start, end=now, top=providers.top_processes)

    report("health, alerts, exporters", 0.3)
    health = providers.health
    if health is None and run_health_checks:
        from .live import one_off_health

        health = one_off_health(config, paths.data_dir)
    _provided(asm, "health.json", health, "health checks: current and transitions",
              "no health data (the agent is not running and checks were not run)")
    _provided(asm, "alerts.json", providers.alerts, "alerts: active, history, silences",
              "alerting not configured")
    _provided(asm, "export_status.json", providers.export_status,
              "each exporter's status", "the agent is not running here")
    _agent_diagnosis(asm, providers)

    report("metrics snapshot", 0.4)
    snap = providers.snapshot_text() if providers.snapshot_text else \
        sources.scrape_prometheus(config)
    if snap is None:
        asm.leave_out("metrics/snapshot.prom", "the agent is not running (no live snapshot); "
                      "see metrics/history.csv")
    else:
        asm.text("metrics/snapshot.prom", snap, "the current metrics, Prometheus text format")

    report("traces and logs", 0.5)
    _otlp(asm, "traces.jsonl", sources.trace_files(config), start=start, description=
          "traces from the window, OTLP-JSON lines (one export request per line)",
          none_note=_trace_files_note(config), cap=log_cap)
    _store_traces(asm, providers.traces, config, paths, start=start, cap=log_cap)
    _otlp(asm, "logs.jsonl", sources.log_files(config, paths), start=start,
          description="the editor's logs received over OTLP in the window, OTLP-JSON lines",
          none_note="no received logs", cap=log_cap)
    _tails(asm, "agent-logs", sources.agent_log_files(paths), log_cap,
           "the agent's own log (JSON lines)", none_note=f"no agent log in {paths.log_dir}")
    globs = list(editor_log_globs) or list(config.editor.log_globs)
    _tails(asm, "editor-logs", sources.editor_log_files(globs), log_cap,
           "an editor log file", none_note="no editor log files matched "
           f"{globs}" if globs else "no editor log globs configured")

    report("metric history", 0.6)
    _history(asm, config, paths, start=start, end=now, size_cap=size_cap,
             max_points=max_points_per_series)

    if asm.size() > size_cap:
        asm.leave_out("(size cap)", f"the files other than the history already take "
                      f"{asm.size()} bytes, over the cap of {size_cap}")
    report("writing", 0.9)
    _summary(asm, start, now)
    manifest = _manifest(asm, config, start, now, size_cap)
    manifest["pseudonymised"] = scrubber.pseudonym_report()
    asm.json("manifest.json", manifest, "this manifest")
    asm.text("README.txt", _readme(asm), "what each file is")
    entries = [BundleEntry(n, len(b), d) for n, (b, d) in sorted(asm.files.items())]
    path: Path | None = None
    if not preview:
        path = _write_zip(out, asm.files)
    report("done", 1.0)
    return BundleResult(path=path, entries=entries, scrubbed=dict(scrubber.counts),
                        left_out=list(asm.left_out), total_bytes=asm.size(), manifest=manifest)



def _agent_diagnosis(asm: _Assembler, providers: Providers) -> None:
    """``diagnose.json`` (each upstream tried once, exporters, receiver counts) and
    ``threads.txt`` (the agent's threads), from the running agent; left out without one."""
    from timeline_telemetry.runtime.diagnose import format_threads

    if providers.diagnose is None:
        asm.leave_out("diagnose.json", "the agent is not running")
    else:
        _provided(asm, "diagnose.json", providers.diagnose, "each configured upstream tried "
                  "once (DNS, connect, TLS; result and latency), exporters' status and last "
                  "error, the OTLP receiver's counts", "the agent is not running")
    if providers.threads is None:
        asm.leave_out("threads.txt", "the agent is not running")
        return
    try:
        text = format_threads(providers.threads())
    except Exception as exc:  # a failing provider must not lose the whole bundle
        text = f"(no thread dump: {type(exc).__name__}: {exc})\n"
    asm.text("threads.txt", text, "the agent's threads and what each was doing "
             "(innermost frame last)")


def _provided(asm: _Assembler, name: str, provider: JsonProvider | None, description: str,
              note: str) -> None:
    if provider is None:
        asm.json(name, {"available": False, "note": note}, description)
        return
    try:
        asm.json(name, localize_times(provider()), description)
    except Exception as exc:  # a failing provider must not lose the whole bundle
        asm.json(name, {"available": False, "error": f"{type(exc).__name__}: {exc}"},
                 description)


def _otlp(asm: _Assembler, name: str, files: list[Path], *, start: float, description: str,
          none_note: str, cap: int) -> None:
    if not files:
        asm.leave_out(name, none_note)
        return
    kept: deque[str] = deque()
    size = dropped = 0
    for doc in sources.otlp_lines_in_window(files, start=start):
        line = json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"
        kept.append(line)
        size += len(line)
        while size > cap and len(kept) > 1:  # keep the newest requests
            size -= len(kept.popleft())
            dropped += 1
    if dropped:
        asm.leave_out(f"{name}: the {dropped} oldest requests",
                      f"over the {cap // (1024 * 1024)} MB budget for this file")
    lines = [json.dumps(asm.scrubber.json(json.loads(line)), separators=(",", ":"),
                        ensure_ascii=False) for line in kept]
    asm.text(name, "".join(line + "\n" for line in lines), description)


STORE_TRACES = "traces/store.json"


def _trace_files_note(config: TelemetryConfig) -> str:
    """Why traces.jsonl is absent: no File exporter, or its file not written yet."""
    from timeline_telemetry.config.schema import FileExporterConfig

    files = [str(e.path) for e in config.tracing.exporters if isinstance(e, FileExporterConfig)]
    if not files:
        return (f"no trace File exporter configured (tracing.exporters); the received "
                f"spans are in {STORE_TRACES}")
    return (f"the trace File exporter's file {', '.join(files)} does not exist yet (no span "
            f"exported to it); the received spans are in {STORE_TRACES}")


def _store_traces(asm: _Assembler, provider: TracesProvider | None, config: TelemetryConfig,
                  paths: AppPaths, *, start: float, cap: int) -> None:
    """The trace store's spans from the window, error spans first: from the running agent,
    else (not running, or it did not answer) from the store it saved at its last stop."""
    from timeline_telemetry.ingest.trace_store import PERSIST_FILE, TraceStore

    from .live import TRACE_SPANS_LIMIT

    doc: dict[str, object] | None = None
    error: str | None = None
    if provider is not None:
        try:
            got = provider(start)
            doc = dict(got) if isinstance(got, Mapping) else {"value": got}
        except Exception as exc:  # fall back to the saved store
            error = f"{type(exc).__name__}: {exc}"
    if doc is None or not isinstance(doc.get("spans"), list):
        saved = paths.data_dir / PERSIST_FILE
        store = TraceStore(max_traces=config.ingest.trace_store_max_traces)
        if store.load(saved) > 0:
            doc = {"source": f"the trace store the agent saved at its last stop ({saved})",
                   **({"live_error": error} if error else {}), "traces": len(store),
                   "spans_kept": store.span_count, "max_traces": store.max_traces,
                   "spans": store.export(since_ns=int(start * 1e9), limit=TRACE_SPANS_LIMIT)}
        elif doc is None:
            asm.leave_out(STORE_TRACES, "no spans: the agent is not running and saved no "
                          f"trace store ({saved})" + (f"; its API failed: {error}"
                                                       if error else ""))
            return
    spans = doc.get("spans")
    if isinstance(spans, list):
        dropped = _trim_spans(spans, cap)
        errors = sum(1 for s in spans if isinstance(s, dict) and s.get("status") == "error")
        doc = {**doc, "window_start": _iso(start), "spans_in_bundle": len(spans),
               "error_spans": errors, "order": "error spans first, then by start time"}
        if dropped:
            asm.leave_out(f"{STORE_TRACES}: the {dropped} oldest spans without error",
                          f"over the {cap // (1024 * 1024)} MB budget for this file")
    asm.json(STORE_TRACES, doc, "the agent's trace store (spans the editor pushed) in the "
             "window: error spans first, then by start time")


def _trim_spans(spans: list[object], cap: int) -> int:
    """Drop the oldest spans without error until ``spans`` fit ``cap`` bytes of JSON."""
    sizes = [len(json.dumps(s, separators=(",", ":"), default=str)) + 1 for s in spans]
    total = sum(sizes)
    dropped = 0
    i = 0
    while total > cap and i < len(spans):
        item = spans[i]
        if isinstance(item, dict) and item.get("status") == "error":
            i += 1
            continue
        total -= sizes.pop(i)
        spans.pop(i)
        dropped += 1
    return dropped


def _tails(asm: _Assembler, folder: str, files: list[Path], cap: int, description: str,
           *, none_note: str) -> None:
    if not files:
        asm.leave_out(folder, none_note)
        return
    budget = cap
    for path in reversed(files):  # newest first gets the budget
        if budget <= 0:
            asm.leave_out(f"{folder}/{path.name}", f"over the {cap // (1024 * 1024)} MB "
                          "log budget (older files are left out first)")
            continue
        tail = sources.tail_file(path, budget)
        if tail is None:
            asm.leave_out(f"{folder}/{path.name}", "unreadable")
            continue
        text = tail.text
        if tail.truncated:
            text = (f"[truncated: the first {tail.size - len(text.encode())} bytes of "
                    f"{tail.size} were left out]\n") + text
        asm.text(f"{folder}/{asm.scrubber.text(path.name)}", text, description)
        budget -= len(text.encode())


def _top_over_window(provider: TracesProvider | None, paths: AppPaths, *, start: float,
                     end: float) -> dict[str, object]:
    """``busiest_over_window``: from the running agent's samples, else (not running, or it
    did not answer) from those it saved at its last stop."""
    from .top_window import busiest_over_window, saved_samples

    error: str | None = None
    if provider is not None:
        try:
            got = provider(start)
            if isinstance(got, Mapping) and isinstance(got.get("samples"), list):
                return busiest_over_window(got)
            error = f"unexpected answer: {str(got)[:200]}"
        except Exception as exc:  # fall back to the saved samples
            error = f"{type(exc).__name__}: {exc}"
    live_error = {"live_error": error} if error else {}
    doc = busiest_over_window({**saved_samples(paths.data_dir, start=start, end=end),
                               **live_error})
    if not doc["samples"]:
        return {"available": False, "note": "no top-processes samples in the window (the "
                "agent samples them every 30 s while it runs and saves them at its stop)",
                **live_error}
    return doc


def _processes(asm: _Assembler, config: TelemetryConfig, paths: AppPaths,
               live: dict[str, object], *, start: float, end: float,
               top: TracesProvider | None = None) -> None:
    """``processes.json``: the editor and its children over the window from the history,
    the busiest processes over the window from the agent's top-processes samples, and a
    sample taken at bundle time (labelled as such)."""
    from .gpu_window import gpu_over_window
    from .window import editor_processes

    editor: dict[str, object] | None = None
    gpu: dict[str, object] | None = None
    note = gpu_note = "no local history (metrics.history disabled or not written yet)"
    hpath = sources.history_path(config, paths)
    if hpath is not None:
        from timeline_telemetry.history import HistoryError, HistoryStore

        try:
            with HistoryStore(hpath, retention=config.metrics.retention_period) as store:
                editor = editor_processes(store, start=start, end=end)
                gpu = gpu_over_window(store, start=start, end=end)
            note = "the history has no editor series in the window"
            gpu_note = "the history has no GPU series in the window (no NVIDIA GPU watched)"
        except HistoryError as exc:
            note = gpu_note = f"the history could not be read: {exc}"
    doc: dict[str, object] = {
        "window": {"start": _iso(start), "end": _iso(end)},
        "busiest_over_window": _top_over_window(top, paths, start=start, end=end),
        # top_by_cpu / top_by_memory: the sample at bundle time, as before (labelled)
        "bundle_time_sample": {
            "taken_at": _iso(end), "covers": ["top_by_cpu", "top_by_memory",
                                              "sampled_seconds", "process_count"],
            "note": "top_by_cpu and top_by_memory are a sample taken when the bundle was "
                    "made, not over the window: a process gone by then is only in "
                    "busiest_over_window"},
        **live,
        "editor_over_window": editor if editor is not None else {"available": False,
                                                                  "note": note},
        "gpu_over_window": gpu if gpu is not None else {"available": False, "note": gpu_note},
    }
    asm.json("processes.json", doc, "the editor over the window from the history (its CPU, "
             "memory, threads and open files summed with its children; its children by name "
             "and how many ran); the busiest processes over the window by name "
             "(busiest_over_window: the agent's samples every 30 s of the top 5 by CPU and "
             "by memory); the GPUs over the window (load, power, the processes on them by "
             "name, throttling); top_by_cpu and top_by_memory: a sample taken at bundle time")


def _history(asm: _Assembler, config: TelemetryConfig, paths: AppPaths, *, start: float,
             end: float, size_cap: int, max_points: int) -> None:
    hpath = sources.history_path(config, paths)
    if hpath is None:
        asm.leave_out(HISTORY_CSV, "no local history (metrics.history disabled or not "
                                   "written yet)")
        return
    from timeline_telemetry.history import HistoryStore, resolution_plan

    from .window import detail_from

    budget = size_cap - asm.size() - 64 * 1024  # room for manifest and README
    window_start = start
    with HistoryStore(hpath, retention=config.metrics.retention_period) as store:
        # The workstation's own series first, then what applications pushed: if the size
        # cap cuts, it cuts a flood of pushed names, not the machine's story.
        names = sorted(store.names(), key=lambda n: (not n.startswith(_OWN_PREFIXES), n))
        detail, why = detail_from(store, start=start, end=end)
        for attempt in range(2):
            buf = _BoundedText(budget)
            ranges = resolution_plan(window_start, end, detail_from=detail,
                                     max_points=max_points)
            try:
                rows = store.export_csv(buf, start=window_start, end=end, names=names,
                                        ranges=ranges, summarise_histograms=True)
                complete = True
            except _BudgetSpent:
                rows, complete = buf.rows, False
            if complete or attempt == 1:
                break
            # Too much: once more with the newest quarter of the window (bounded: every
            # pass stops writing at the budget, whatever the history holds).
            window_start = end - (end - window_start) / 4
    data = asm.scrubber.text(buf.getvalue()).encode("utf-8")
    if not data:
        asm.leave_out(HISTORY_CSV, f"does not fit the size cap of {size_cap} bytes")
        return
    asm.files[HISTORY_CSV] = (data, f"every series over the window ({rows} rows): every "
                              f"stored point from {_iso(max(detail, window_start))} ({why}), "
                              "buckets of a minute or more before; each histogram as its "
                              "_count and "
                              "_sum series plus <name>_p50 and <name>_p95 (the quantiles of "
                              "the observations since the previous point; count says how "
                              "many) instead of one series per bucket")
    if window_start > start:
        asm.leave_out(f"{HISTORY_CSV} before {_iso(window_start)}",
                      f"size cap of {size_cap} bytes: the oldest history was trimmed first")
    if not complete:
        asm.leave_out(f"{HISTORY_CSV}: the series after the last one written",
                      f"size cap of {size_cap} bytes: the workstation's own series come "
                      "first, then pushed ones by name, until the cap")


#: Metric name prefixes of the workstation and the monitor itself (kept first in a bundle).
_OWN_PREFIXES = ("system_", "editor_", "process_", "gpu_", "telemetry_", "alerts_", "ALERTS",
                 "disk_", "memory_", "ffmpeg_", "exporters_", "ingest_")


class _BudgetSpent(Exception):
    """The history CSV reached its byte budget."""


class _BoundedText(io.StringIO):
    """A text buffer that refuses to grow past ``budget`` characters (about bytes: the
    CSV is mostly ASCII) at a row boundary; ``rows`` counts the rows it kept."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self._budget = max(0, budget)
        self.rows = -1  # the header line is not a row

    def write(self, s: str) -> int:
        if self.tell() + len(s) > self._budget:
            raise _BudgetSpent
        self.rows += s.count("\n")
        return super().write(s)


def _iso(ts: float) -> str:
    """The workstation's local time with its offset, to the second (the editor's own logs
    are in local time)."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).astimezone().isoformat(timespec="seconds")


def _summary(asm: _Assembler, start: float, end: float) -> None:
    """``SUMMARY.md`` from the files already assembled (scrubbed); never fails the bundle."""
    try:
        text = summary_markdown({n: b for n, (b, _d) in asm.files.items()},
                                created_at=_iso(end), start=_iso(start), end=_iso(end))
    except Exception as exc:  # the summary is a convenience: the files are the record
        text = f"# Diagnostics summary\n\nsummary incomplete: {type(exc).__name__}: {exc}\n"
    asm.text(SUMMARY_NAME, text, "what happened, in a minute: health, alerts, exporters, "
             "the editor, top processes, fullest drives, the editor's last errors")


def _summary_first(item: tuple[str, tuple[bytes, str]]) -> tuple[bool, str]:
    return (item[0] != SUMMARY_NAME, item[0])


def _manifest(asm: _Assembler, config: TelemetryConfig, start: float, end: float,
              size_cap: int) -> dict[str, object]:
    from timeline_telemetry import __version__

    return {
        "app": "timeline-telemetry",
        "app_version": __version__,
        "bundle_version": BUNDLE_VERSION,
        "created_at": _iso(end),
        "time_range": {"start": _iso(start), "end": _iso(end)},
        "service": {"name": config.service_name, "version": config.service_version},
        "files": [{"name": n, "bytes": len(b), "description": d}
                  for n, (b, d) in sorted(asm.files.items(), key=_summary_first)],
        "left_out": asm.left_out,
        "scrubbed": dict(sorted(asm.scrubber.counts.items())),
        "total_bytes": asm.size(),
        "size_cap_bytes": size_cap,
    }


def _readme(asm: _Assembler) -> str:
    lines = [
        "Timeline Studio Telemetry Monitor: diagnostics bundle",
        "",
        "Plain text, JSON, CSV and OTLP-JSON lines; no special tool is needed to read it.",
        "Secrets were removed before anything was written (see manifest.json, 'scrubbed').",
        "",
        "Files:",
    ]
    names = sorted([*asm.files, "README.txt"], key=lambda n: (n != SUMMARY_NAME, n))
    for name in names:
        desc = "what each file is (this file)" if name == "README.txt" else asm.files[name][1]
        lines.append(f"  {name:32} {desc}")
    if asm.left_out:
        lines += ["", "Left out:"]
        lines += [f"  {item['what']}: {item['why']}" for item in asm.left_out]
    return "\n".join(lines) + "\n"


def _write_zip(out: Path, files: Mapping[str, tuple[bytes, str]]) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, (data, _desc) in sorted(files.items()):
                zf.writestr(name, data)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out

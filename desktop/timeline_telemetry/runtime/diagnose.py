"""The agent's self-diagnosis for a support bundle: each configured upstream tried once, and
a dump of the agent's threads.

:func:`upstream_targets` lists what the config sends to (trace exporters' OTLP and Jaeger
endpoints, alert actions' Webhook, Alertmanager and PagerDuty URLs, the SMTP host) and
nothing else. :func:`probe_all` tries each once, in parallel: DNS resolution, a TCP connect
and, for https (or SMTP over TLS), a TLS handshake with the certificate verified; no request
is sent, so no alert or data leaves. Each probe has its own timeout (3 s) and the whole run
a cap (5 s); a probe still running at the cap is reported as such and left to finish on its
daemon thread. Targets are shown without credentials (:func:`~timeline_telemetry.net.urls.
redact_url`; an action's URL as scheme, host and port only, since its path may be the
token); header values are never read.

:func:`thread_dump` names every thread with its innermost frames (file, line, function and
source line; never local variables, so no secrets).
"""

from __future__ import annotations

import linecache
import os
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

from timeline_telemetry.config.schema import (
    EmailActionConfig,
    JaegerExporterConfig,
    OtlpExporterConfig,
    RemoteWriteExporterConfig,
    TelemetryConfig,
)
from timeline_telemetry.net.urls import redact_url

__all__ = [
    "PROBE_OVERALL_S",
    "PROBE_TIMEOUT_S",
    "THREAD_FRAMES",
    "ProbeTarget",
    "format_threads",
    "probe",
    "probe_all",
    "thread_dump",
    "upstream_targets",
]

#: Each probe's own timeout (DNS aside, which the overall cap bounds), in seconds.
PROBE_TIMEOUT_S = 3.0
#: The whole diagnose run's cap, in seconds.
PROBE_OVERALL_S = 5.0
#: How many of each thread's innermost frames a dump shows.
THREAD_FRAMES = 8


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """One upstream to try: ``name`` (the exporter or action), ``kind`` (Otlp, Jaeger,
    Webhook, ...), ``shown`` (the endpoint without credentials), where to connect and
    whether to do a TLS handshake there."""

    name: str
    kind: str
    shown: str
    host: str
    port: int
    tls: bool


def _host_port_only(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _from_url(name: str, kind: str, url: str, shown: str) -> ProbeTarget | str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{name}: not an http(s) URL, not tried"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"{name}: bad port in {shown}, not tried"
    return ProbeTarget(name, kind, shown, parts.hostname, port, parts.scheme == "https")


def upstream_targets(config: TelemetryConfig) -> tuple[list[ProbeTarget], list[str]]:
    """The configured upstreams and notes on those not tried (a URL held as a secret
    reference is not resolved here: it is named, not tried)."""
    from timeline_telemetry.config.secrets import is_secret_ref
    from timeline_telemetry.tracing.otel_env import otlp_settings
    from timeline_telemetry.tracing.otlp_http import jaeger_otlp_url

    targets: list[ProbeTarget] = []
    notes: list[str] = []

    def add(found: ProbeTarget | str) -> None:
        if isinstance(found, ProbeTarget):
            targets.append(found)
        else:
            notes.append(found)

    otlp = [(f"traces[{i}] Otlp", "traces", exp) for i, exp in enumerate(
        config.tracing.exporters if config.tracing.enabled else ())
        if isinstance(exp, OtlpExporterConfig)]
    otlp += [(f"logs[{i}] Otlp", "logs", exp) for i, exp in enumerate(config.logs.exporters)]
    for name, signal, oexp in otlp:
        # The endpoint as it will be used: from the file, else OTEL_EXPORTER_OTLP_*.
        url = otlp_settings(oexp, signal).url
        if is_secret_ref(url):
            notes.append(f"{name}: the endpoint is a secret reference, not tried")
        else:
            add(_from_url(name, "Otlp", url, redact_url(url)))
    for i, exp in enumerate(config.tracing.exporters if config.tracing.enabled else ()):
        if isinstance(exp, JaegerExporterConfig):
            url = jaeger_otlp_url(exp.endpoint)[0]
            add(_from_url(f"traces[{i}] Jaeger", "Jaeger", url, redact_url(url)))
    for i, mexp in enumerate(config.metrics.exporters if config.metrics.enabled else ()):
        if isinstance(mexp, RemoteWriteExporterConfig):
            add(_from_url(f"metrics[{i}] RemoteWrite", "RemoteWrite", mexp.url,
                          redact_url(mexp.url)))
    for action in config.alerts.actions if config.alerts.enabled else ():
        if isinstance(action, EmailActionConfig):
            tls = action.security == "tls"
            targets.append(ProbeTarget(action.name, "Email", f"smtp://{action.host}:{action.port}"
                                       f" ({action.security})", action.host, action.port, tls))
            continue
        if not action.url:
            notes.append(f"{action.name}: no URL configured, not tried")
        elif is_secret_ref(action.url):
            notes.append(f"{action.name} ({action.kind}): the URL is a secret reference, "
                         "not tried")
        else:
            add(_from_url(action.name, action.kind, action.url, _host_port_only(action.url)))
    return targets, notes


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def _tls_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: handshake failed: {exc.reason or exc}"
    return f"TLS: handshake failed: {type(exc).__name__}: {exc}"


def probe(target: ProbeTarget, *, timeout_s: float = PROBE_TIMEOUT_S,
          context: ssl.SSLContext | None = None) -> dict[str, object]:
    """Try ``target`` once: DNS, TCP connect, TLS handshake (when ``target.tls``; with
    ``context``, else the system's default verification). Returns ``{"name", "kind",
    "endpoint", "ok", "dns_ms", "address", "connect_ms", "tls_ms", "latency_ms", "error"}``;
    ``error`` spells out which step failed and why."""
    out: dict[str, object] = {"name": target.name, "kind": target.kind,
                              "endpoint": target.shown, "ok": False}
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        out["dns_ms"] = _ms(time.monotonic() - started)
        out["error"] = f"DNS: cannot resolve {target.host!r}: {exc}"
        return out
    out["dns_ms"] = _ms(time.monotonic() - started)
    family, stype, proto, _cn, addr = infos[0]
    out["address"] = ":".join((str(addr[0]), str(addr[1])))
    t = time.monotonic()
    sock = socket.socket(family, stype, proto)
    sock.settimeout(timeout_s)
    try:
        try:
            sock.connect(addr)
        except TimeoutError:
            out["error"] = f"TCP: no answer from {out['address']} within {timeout_s:g} s"
            return out
        except OSError as exc:
            out["error"] = f"TCP: connect to {out['address']} failed: {exc.strerror or exc}"
            return out
        out["connect_ms"] = _ms(time.monotonic() - t)
        if target.tls:
            t = time.monotonic()
            ctx = context or ssl.create_default_context()
            try:
                with ctx.wrap_socket(sock, server_hostname=target.host) as tls:
                    out["tls_ms"] = _ms(time.monotonic() - t)
                    out["tls_version"] = tls.version()
            except (ssl.SSLError, OSError) as exc:
                out["error"] = _tls_error(exc)
                return out
        out["ok"] = True
        return out
    finally:
        out["latency_ms"] = _ms(time.monotonic() - started)
        sock.close()


def probe_all(targets: Sequence[ProbeTarget], *, timeout_s: float = PROBE_TIMEOUT_S,
              overall_s: float = PROBE_OVERALL_S,
              prober: Callable[[ProbeTarget], dict[str, object]] | None = None,
              ) -> list[dict[str, object]]:
    """Every target probed once, in parallel, within ``overall_s`` in all; a probe not done
    by then is reported as ``"error": "no result within <overall_s> s"`` (its daemon thread
    ends on its own timeout)."""
    if not targets:
        return []
    run = prober or (lambda tg: probe(tg, timeout_s=timeout_s))
    pool = ThreadPoolExecutor(max_workers=min(8, len(targets)),
                              thread_name_prefix="telemetry-diagnose")
    try:
        futures: list[Future[dict[str, object]]] = [pool.submit(run, tg) for tg in targets]
        wait(futures, timeout=overall_s)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    results: list[dict[str, object]] = []
    for tg, fut in zip(targets, futures, strict=True):
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            results.append(fut.result())
            continue
        why = (f"no result within {overall_s:g} s (DNS or the network hung)"
               if not fut.done() or fut.cancelled() else f"probe failed: {fut.exception()!r}")
        results.append({"name": tg.name, "kind": tg.kind, "endpoint": tg.shown, "ok": False,
                        "error": why})
    return results


def _thread_cpu_seconds(native_id: int | None) -> float | None:
    """CPU time a thread used so far (Linux: its ``/proc`` entry), to match ``top -H``."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:  # utime and stime, fields 14 and 15 of stat(5), counted after the command name
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (IndexError, ValueError):
        return None


_CLOCK_TICKS = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def thread_dump(*, frames: int = THREAD_FRAMES) -> list[dict[str, object]]:
    """Every live thread: name, ident, native id, daemon, CPU seconds used (Linux), and its
    ``frames`` innermost frames (outermost first) as ``"file:line in function: source"``;
    no local variables. The source lines read are not kept in ``linecache`` afterwards."""
    current = sys._current_frames()
    out: list[dict[str, object]] = []
    for th in sorted(threading.enumerate(), key=lambda t: t.name):
        frame = current.get(th.ident or -1)
        stack: list[str] = []
        if frame is not None:
            for fs in traceback.extract_stack(frame)[-frames:]:
                line = f"{fs.filename}:{fs.lineno} in {fs.name}"
                stack.append(f"{line}: {fs.line.strip()}" if fs.line else line)
        out.append({"name": th.name, "ident": th.ident, "native_id": th.native_id,
                    "daemon": th.daemon, "cpu_seconds": _thread_cpu_seconds(th.native_id),
                    "stack": stack})
    linecache.clearcache()  # a long-running tray would keep every file in the stacks
    return out


def format_threads(threads: object) -> str:
    """A :func:`thread_dump` as text, one block per thread (the innermost frame last)."""
    if not isinstance(threads, list):
        return f"(no thread dump: {threads!r})\n"
    blocks: list[str] = []
    for th in threads:
        if not isinstance(th, dict):
            continue
        cpu = th.get("cpu_seconds")
        head = f"Thread {th.get('name')!s} (ident {th.get('ident')}, " \
               f"native id {th.get('native_id')}, " \
               f"{'daemon' if th.get('daemon') else 'non-daemon'}" \
               f"{f', {cpu:.2f} s CPU' if isinstance(cpu, (int, float)) else ''})"
        stack = th.get("stack") or []
        lines = [f"    {s}" for s in stack] if isinstance(stack, list) else []
        blocks.append("\n".join([head, *(lines or ["    (no frame)"])]))
    return "\n\n".join(blocks) + "\n"

"""``system.json`` and ``processes.json``: what the workstation is and what runs on it.

Everything is best effort: a part that cannot be read is reported as ``{"error": ...}``
instead of failing the bundle. External commands run with a timeout through ``run``.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from . import hostinfo
from .drives import configured_drives
from .timefmt import local_rfc3339

__all__ = ["RunCommand", "process_info", "run_command", "system_info"]

#: ``run(argv, timeout_s) -> stdout`` (raises OSError / subprocess errors on failure).
RunCommand = Callable[[Sequence[str], float], str]
_PACKAGES = (
    "timeline-telemetry", "psutil", "prometheus-client", "platformdirs", "opentelemetry-sdk",
    "opentelemetry-proto", "keyring", "nvidia-ml-py", "PySide6-Essentials", "PySide6",
    "pyqtgraph", "protobuf",
)


def run_command(argv: Sequence[str], timeout_s: float) -> str:
    """Run ``argv`` and return its stdout (stderr appended); raises on failure to start."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s,
                          check=False, errors="replace")
    return proc.stdout + (proc.stderr if not proc.stdout else "")


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # a missing piece must not fail the bundle
        return {"error": f"{type(exc).__name__}: {exc}"}


def system_info(
    *,
    psutil_mod: ModuleType,
    run: RunCommand = run_command,
    which: Callable[[str], str | None] = shutil.which,
    ffmpeg: str | None = None,
    configured_paths: Sequence[tuple[str, str]] = (),
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, object]:
    """OS and distribution, host name, time zone, locale, uptime, CPU, memory, the drives
    the configuration names (``configured_paths``: ``(role, path)``) and every mount, GPUs,
    displays, Python and package versions, ``ffmpeg -version`` and its encoders.

    Times are local RFC 3339 with their offset. ``host_name`` is the real name: the
    bundle's scrubber pseudonymises it like the other personal values."""
    ps = psutil_mod
    now = clock()
    return {
        "os": _safe(lambda: {"system": platform.system(), "release": platform.release(),
                             "version": platform.version(), "machine": platform.machine(),
                             "platform": platform.platform()}),
        "distribution": _safe(hostinfo.distribution),
        "host_name": _safe(socket.gethostname),
        "time_zone": _safe(lambda: hostinfo.time_zone(now, environ=environ)),
        "locale": _safe(lambda: hostinfo.locale_info(environ)),
        "uptime": _safe(lambda: hostinfo.uptime(ps.boot_time, now)),
        "cpu": _safe(lambda: {"model": platform.processor() or _cpu_model(),
                              "logical": ps.cpu_count(), "physical": ps.cpu_count(logical=False),
                              "freq_mhz": getattr(ps.cpu_freq(), "current", None)}),
        "memory": _safe(lambda: {"total_bytes": ps.virtual_memory().total,
                                 "available_bytes": ps.virtual_memory().available,
                                 "swap_total_bytes": ps.swap_memory().total}),
        "configured_drives": _safe(lambda: configured_drives(ps, configured_paths)),
        "disks": _safe(lambda: _disks(ps)),
        "gpus": _safe(lambda: _gpus(run, which)),
        "displays": _safe(_displays),
        "python": {"version": sys.version, "executable": sys.executable},
        "packages": {name: _version(name) for name in _PACKAGES},
        "qt": _safe(lambda: _version("PySide6-Essentials") or _version("PySide6")),
        "ffmpeg": _safe(lambda: _ffmpeg(run, which, ffmpeg)),
        "boot_time": _safe(lambda: local_rfc3339(ps.boot_time())),
    }


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _disks(ps: ModuleType) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for part in ps.disk_partitions(all=False):
        entry: dict[str, object] = {"device": part.device, "mountpoint": part.mountpoint,
                                    "fstype": part.fstype, "opts": part.opts}
        try:
            u = ps.disk_usage(part.mountpoint)
            entry.update(total_bytes=u.total, free_bytes=u.free, percent=u.percent)
        except OSError as exc:
            entry["error"] = str(exc)
        out.append(entry)
    return out


def _gpus(run: RunCommand, which: Callable[[str], str | None]) -> object:
    smi = which("nvidia-smi")
    if smi is None:
        return {"nvidia": "nvidia-smi not found (no NVIDIA driver, or not on PATH)"}
    text = run([smi, "--query-gpu=name,driver_version,memory.total,pci.bus_id",
                "--format=csv,noheader"], 10.0)
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 4:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2],
                         "bus_id": parts[3]})
    return gpus


def _displays() -> object:
    drm = Path("/sys/class/drm")
    if not drm.is_dir():
        return {"note": "display details are read from /sys/class/drm on Linux only"}
    out = []
    for conn in sorted(drm.glob("card*-*")):
        status = (conn / "status").read_text().strip() if (conn / "status").exists() else ""
        if status != "connected":
            continue
        modes = (conn / "modes").read_text().split() if (conn / "modes").exists() else []
        out.append({"connector": conn.name, "modes": modes[:3]})
    return out


def _ffmpeg(run: RunCommand, which: Callable[[str], str | None], path: str | None) -> object:
    binary = which(path or "ffmpeg")
    if binary is None:
        return {"found": False, "note": f"{path or 'ffmpeg'} not found on PATH"}
    version = run([binary, "-hide_banner", "-version"], 15.0)
    encoders = run([binary, "-hide_banner", "-encoders"], 15.0)
    return {"found": True, "path": binary, "version": version.strip().splitlines()[:3],
            "version_full": version, "encoders": encoders}


def process_info(
    *, psutil_mod: ModuleType, top: int = 25, sample_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic, wait: Callable[[float], object] = time.sleep,
) -> dict[str, object]:
    """Top ``top`` processes by CPU (over ``sample_s``) and by resident memory."""
    ps = psutil_mod
    procs = []
    for p in ps.process_iter(["pid", "name"]):
        try:
            p.cpu_percent(None)
            procs.append(p)
        except (ps.NoSuchProcess, ps.AccessDenied):
            continue
    started = clock()
    wait(sample_s)
    elapsed = clock() - started
    rows: list[dict[str, object]] = []
    for p in procs:
        try:
            with p.oneshot():
                cmd = " ".join(p.cmdline())[:300]
                rows.append({"pid": p.pid, "name": p.info.get("name"),
                             "cpu_percent": p.cpu_percent(None),
                             "rss_bytes": p.memory_info().rss,
                             "num_threads": p.num_threads(), "cmdline": cmd})
        except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
            continue

    def num(row: dict[str, object], key: str) -> float:
        v = row.get(key)
        return float(v) if isinstance(v, int | float) else 0.0

    return {
        "sampled_seconds": round(elapsed, 3),
        "process_count": len(rows),
        "top_by_cpu": sorted(rows, key=lambda r: num(r, "cpu_percent"), reverse=True)[:top],
        "top_by_memory": sorted(rows, key=lambda r: num(r, "rss_bytes"), reverse=True)[:top],
    }

"""Per-process GPU use, from NVML's per-device lists to bounded, pid-free series.

NVML gives, per device, the processes holding GPU memory (compute and graphics lists), the
recent SM / encoder / decoder utilisation of each busy process, and the NVENC sessions with
their frame rate and latency. These are merged per pid, each pid given a role and a name
(the editor's own processes and children from the editor collector's view; any other by its
executable name) and summed per ``(role, name)``:

- ``process_gpu_*{gpu, role, name}``: ``role`` is ``main`` (the editor), ``child`` (its
  descendants: ffmpeg...) or ``other``; only the ``MAX_OTHER_NAMES`` busiest other names
  (and ``MAX_CHILD_NAMES`` child names) get series of their own, the rest are summed under
  the name ``(rest)``, so the label set stays bounded whatever runs on the GPU.
- ``editor_gpu_*{gpu}``: the editor and all its children together (reported whenever the
  editor collector runs, 0 when they use nothing).
"""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Sample

__all__ = [
    "CHILD_BUSY_PERCENT",
    "MAX_CHILD_NAMES",
    "MAX_OTHER_NAMES",
    "REST",
    "DeviceProcesses",
    "process_label",
    "process_samples",
]

#: Other processes (not the editor's) with series of their own per device, busiest first.
MAX_OTHER_NAMES = 5
#: Child executable names with series of their own per device.
MAX_CHILD_NAMES = 8
#: The name the processes beyond those caps are summed under.
REST = "(rest)"
#: A child of the editor at this SM + encoder + decoder utilisation, or with an NVENC
#: session, is "busy on the GPU" (a render the editor did not announce over OTLP).
CHILD_BUSY_PERCENT = 5.0
_MAX_NAME = 64


class _Use:
    """One process's (or one group's) use of one device."""

    __slots__ = ("dec", "enc", "fps", "latency", "mem", "sessions", "sm")

    def __init__(self) -> None:
        self.sm = self.enc = self.dec = 0.0
        self.mem: float | None = None
        self.sessions = 0
        self.fps = 0.0
        self.latency = 0.0  # summed over sessions; averaged when reported

    def add(self, other: _Use) -> None:
        self.sm += other.sm
        self.enc += other.enc
        self.dec += other.dec
        if other.mem is not None:
            self.mem = other.mem + (self.mem or 0.0)
        self.sessions += other.sessions
        self.fps += other.fps
        self.latency += other.latency

    @property
    def busy(self) -> float:
        return self.sm + self.enc + self.dec


@dataclass(frozen=True, slots=True)
class DeviceProcesses:
    """What one device's process lists said, for the view: the busiest ``(role, name)`` (by
    utilisation, then memory; None when nothing uses it), and whether the editor's processes
    are busy on it (a child at ``CHILD_BUSY_PERCENT`` or encoding, or the editor itself
    encoding or decoding)."""

    top: tuple[str, str] | None
    editor_busy: bool


def process_label(raw: object) -> str:
    """NVML's process name (a path, sometimes with arguments) -> ``ffmpeg``: the executable's
    basename, lower case, without ``.exe`` or arguments, printable, at most 64 characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = text.split(" -", 1)[0].strip()  # "chrome --type=gpu-process" -> "chrome"
    base = ntpath.basename(posixpath.basename(text)).strip().lower()
    if base.endswith(".exe"):
        base = base[:-4]
    base = "".join(c for c in base if c.isprintable())[:_MAX_NAME]
    return base or "unknown"


def process_samples(
    gpu: str,
    *,
    running: Iterable[Any] | None,
    utilization: Iterable[Any] | None,
    sessions: Iterable[Any] | None,
    roles: Mapping[int, tuple[str, str]] | None,
    name_of: Callable[[int], str],
    seen: set[int],
) -> tuple[list[Sample], DeviceProcesses]:
    """The ``process_gpu_*`` and ``editor_gpu_*`` samples of device ``gpu``.

    ``running`` holds the compute and graphics lists' entries (``pid``, ``usedGpuMemory``,
    None where unknown), ``utilization`` the process samples (``pid``, ``timeStamp``,
    ``smUtil``, ``encUtil``, ``decUtil``; the newest per pid counts), ``sessions`` the encoder
    sessions (``pid``, ``averageFps``, ``encodeLatency`` in µs); None for a list the device
    cannot give, whose series are then left out. ``roles`` maps the editor's pids to
    ``(role, name)`` (None: no editor collector, every process is ``other`` and there are no
    ``editor_gpu_*`` series); ``name_of`` names any other pid. Every pid met is added to
    ``seen``.
    """
    uses: dict[int, _Use] = {}
    have_mem = False
    if running is not None:
        for p in running:
            use = uses.get(p.pid)
            if use is None:
                use = uses[p.pid] = _Use()
            mem = p.usedGpuMemory
            if mem is not None:  # None: WDDM on Windows does not say
                have_mem = True
                # a process in both lists holds one allocation: the larger figure
                use.mem = float(mem) if use.mem is None else max(use.mem, float(mem))
    if utilization is not None:
        newest: dict[int, Any] = {}
        for s in utilization:
            before = newest.get(s.pid)
            if before is None or s.timeStamp > before.timeStamp:
                newest[s.pid] = s
        for pid, s in newest.items():
            use = uses.get(pid)
            if use is None:
                use = uses[pid] = _Use()
            use.sm, use.enc, use.dec = float(s.smUtil), float(s.encUtil), float(s.decUtil)
    if sessions is not None:
        for s in sessions:
            use = uses.get(s.pid)
            if use is None:
                use = uses[s.pid] = _Use()
            use.sessions += 1
            use.fps += float(s.averageFps)
            use.latency += float(s.encodeLatency) / 1e6
    seen.update(uses)

    groups: dict[tuple[str, str], _Use] = {}
    for pid, use in uses.items():
        key = roles.get(pid) if roles is not None else None
        if key is None:
            key = ("other", name_of(pid))
        group = groups.get(key)
        if group is None:
            groups[key] = use
        else:
            group.add(use)
    groups = _capped(groups)

    out: list[Sample] = []
    for (role, name), use in sorted(groups.items()):
        labels = (("gpu", gpu), ("name", name), ("role", role))
        if utilization is not None:
            out.append(Sample("process_gpu_utilization_percent", use.sm, labels))
            out.append(Sample("process_gpu_encoder_utilization_percent", use.enc, labels))
            out.append(Sample("process_gpu_decoder_utilization_percent", use.dec, labels))
        if use.mem is not None:
            out.append(Sample("process_gpu_memory_used_bytes", use.mem, labels))
        if use.sessions:
            out.append(Sample("process_gpu_encoder_sessions", float(use.sessions), labels))
            out.append(Sample("process_gpu_encoder_fps", use.fps, labels))
            out.append(Sample("process_gpu_encoder_latency_seconds",
                              use.latency / use.sessions, labels))

    busy = False
    if roles is not None:
        editor = _Use()
        for (role, _name), use in groups.items():
            if role == "other":
                continue
            editor.add(use)
            if role == "child":
                busy = busy or use.busy >= CHILD_BUSY_PERCENT or use.sessions > 0
            else:
                busy = busy or use.enc + use.dec > 0 or use.sessions > 0
        total: tuple[tuple[str, str], ...] = (("gpu", gpu),)
        if utilization is not None:
            out.append(Sample("editor_gpu_utilization_percent", editor.sm, total))
            out.append(Sample("editor_gpu_encoder_utilization_percent", editor.enc, total))
            out.append(Sample("editor_gpu_decoder_utilization_percent", editor.dec, total))
        if running is not None and (have_mem or editor.mem is not None):
            out.append(Sample("editor_gpu_memory_used_bytes", editor.mem or 0.0, total))
        if sessions is not None:
            out.append(Sample("editor_gpu_encoder_sessions", float(editor.sessions), total))
            out.append(Sample("editor_gpu_encoder_fps", editor.fps, total))

    top = max(groups.items(), key=lambda kv: (kv[1].busy, kv[1].mem or 0.0, kv[0]),
              default=None)
    summary = DeviceProcesses(
        top=top[0] if top is not None and (top[1].busy > 0 or (top[1].mem or 0) > 0) else None,
        editor_busy=busy,
    )
    return out, summary


def _capped(groups: dict[tuple[str, str], _Use]) -> dict[tuple[str, str], _Use]:
    """At most ``MAX_OTHER_NAMES`` other and ``MAX_CHILD_NAMES`` child names (the busiest by
    utilisation, then memory, then sessions); the rest summed under ``(rest)``."""
    for role, cap in (("other", MAX_OTHER_NAMES), ("child", MAX_CHILD_NAMES)):
        names = [k for k in groups if k[0] == role]
        if len(names) <= cap:
            continue
        names.sort(key=lambda k: (-groups[k].busy, -(groups[k].mem or 0.0),
                                  -groups[k].sessions, k[1]))
        rest = _Use()
        for key in names[cap:]:
            rest.add(groups.pop(key))
        existing = groups.get((role, REST))
        if existing is not None:  # a process literally named "(rest)"
            existing.add(rest)
        else:
            groups[(role, REST)] = rest
    return groups

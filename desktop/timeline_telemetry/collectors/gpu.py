"""NVIDIA GPUs through NVML (nvidia-ml-py): per device utilisation, VRAM, NVENC/NVDEC load,
temperature, clocks, power and clock throttle reasons, encoder and FBC sessions; per process
(the editor, its children, the busiest others) SM, encoder and decoder utilisation and VRAM."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from timeline_telemetry.metrics.model import Labels

from .base import CollectorUnavailable, Sample
from .editor import EditorProcessView
from .gpu_nvml import (
    CALL_TEXT,
    CLOCK_MEM,
    CLOCK_SM,
    DEVICE_CALLS,
    RENDER_THROTTLE_REASONS,
    THROTTLE_REASONS,
    ErrorCodes,
    throttle_reasons,
)
from .gpu_procs import DeviceProcesses, process_label, process_samples

__all__ = ["GpuDeviceState", "GpuView", "NvidiaGpuCollector", "ThrottleEpisode"]

_log = logging.getLogger(__name__)

#: Throttle episodes kept in the view (all devices together), newest last.
MAX_EPISODES = 16


@dataclass(frozen=True, slots=True)
class GpuDeviceState:
    """One device at the latest collection: ``throttle`` holds the active clock throttle
    reasons (``gpu_throttle_reason``'s label values; None where the reasons cannot be read),
    ``processes`` how many processes use it (None where the lists cannot be read), ``top``
    the busiest ``(role, name)`` and ``editor_busy`` whether the editor's processes are busy
    on it (see :class:`~.gpu_procs.DeviceProcesses`)."""

    gpu: str
    model: str
    throttle: frozenset[str] | None
    processes: int | None
    top: tuple[str, str] | None
    editor_busy: bool


@dataclass(frozen=True, slots=True)
class ThrottleEpisode:
    """A device throttled for heat or power (``RENDER_THROTTLE_REASONS``) during a render, in
    consecutive collections: every reason seen, first and last collection (monotonic, and
    ``started_wall`` on the wall clock), how many collections, and why it counted as a render
    (``cause``: ``render`` when the editor announced a render or export, ``gpu`` when only
    its children were busy on this GPU)."""

    gpu: str
    model: str
    reasons: frozenset[str]
    first_at: float
    last_at: float
    started_wall: float
    collections: int
    cause: str


@dataclass(frozen=True, slots=True)
class GpuView:
    """What the GPU collector saw at its latest run (for the GPU throttle health check):
    ``looked_at`` on the collector's monotonic clock, ``looked_every`` the gap between its
    last two runs (0 after the first), ``rendering`` the editor's announced render state
    then, every device, and the recent throttle-during-render episodes (newest last)."""

    looked_at: float
    looked_every: float
    rendering: bool
    devices: tuple[GpuDeviceState, ...]
    episodes: tuple[ThrottleEpisode, ...]


class _Device:
    """A device's handle, labels, the functions chosen for it and those it cannot answer."""

    __slots__ = ("fns", "gone", "gpu", "handle", "labels", "model", "names", "off", "util_seen")

    def __init__(self, handle: Any, gpu: str, model: str) -> None:
        self.handle = handle
        self.gpu = gpu
        self.model = model
        self.labels: Labels = (("gpu", gpu), ("name", model))
        self.fns: dict[str, Callable[..., Any]] = {}
        self.names: dict[str, str] = {}
        self.off: dict[tuple[str, str], str] = {}  # (key, function) -> why
        self.gone: set[str] = set()  # keys with no function left
        self.util_seen = 0  # newest process-utilisation sample seen (µs)


class NvidiaGpuCollector:
    """Every NVIDIA GPU, its processes and its encoder, through the NVML module it is given.

    ``nvml_module`` is the NVML interface: ``pynvml`` (imported lazily when None) or anything
    with the same functions, such as a :class:`~.gpu_replay.RecordedNvml` replaying recorded
    answers. The constructor raises :class:`CollectorUnavailable` with a one-line reason when
    the module is missing, NVML cannot start (no driver) or there is no device.

    Per device (labels ``gpu="<index>"``, ``name="<model>"``): ``gpu_utilization_percent``,
    ``gpu_memory_used_bytes``/``_total_bytes``, ``gpu_encoder``/``decoder_utilization_percent``,
    ``gpu_temperature_celsius``, ``gpu_sm_clock_hertz``, ``gpu_memory_clock_hertz``,
    ``gpu_power_usage_watts``, ``gpu_power_limit_watts``, ``gpu_throttle_reason{reason}``
    (1 while active, every reason of ``THROTTLE_REASONS``), ``gpu_encoder_sessions`` and
    ``gpu_fbc_sessions`` (with ``_fps`` and ``_latency_seconds`` while sessions run) and
    ``gpu_processes``. Per process, see :mod:`.gpu_procs`: ``process_gpu_*{gpu, role, name}``
    and, with the editor collector's view (``editor_view``), ``editor_gpu_*{gpu}``.

    A function the bindings lack, or that answers ``NOT_SUPPORTED`` (consumer cards),
    ``FUNCTION_NOT_FOUND``/``NVMLLibraryMismatchError`` (older drivers: the next function of
    its :data:`~.gpu_nvml.DEVICE_CALLS` chain is tried) or ``NO_PERMISSION``, is not asked
    again for that device and its series are left out (one INFO line). Any other failing
    query skips that metric of that device this run, so the series of a lost GPU (every
    query fails) disappear; when every query of every device fails (driver gone),
    ``collect()`` raises ``RuntimeError`` and the manager keeps the last values for a few
    runs. Process names are read once per pid (``nvmlSystemGetProcessName``) and forgotten
    when the pid leaves the GPU.

    ``render_active`` says whether the editor announced a render or export (its OTLP gauges);
    with the devices' throttle reasons and the editor's children's GPU use it makes the
    throttle episodes of :meth:`latest_view`. ``collect`` is not thread-safe (one caller at
    a time); :meth:`latest_view` may be called from any thread. ``close()`` shuts NVML down
    once.
    """

    name = "gpu"
    families = frozenset(
        {
            "gpu_utilization_percent",
            "gpu_memory_used_bytes",
            "gpu_memory_total_bytes",
            "gpu_encoder_utilization_percent",
            "gpu_decoder_utilization_percent",
            "gpu_temperature_celsius",
            "gpu_sm_clock_hertz",
            "gpu_memory_clock_hertz",
            "gpu_power_usage_watts",
            "gpu_power_limit_watts",
            "gpu_throttle_reason",
            "gpu_encoder_sessions",
            "gpu_encoder_fps",
            "gpu_encoder_latency_seconds",
            "gpu_fbc_sessions",
            "gpu_fbc_fps",
            "gpu_fbc_latency_seconds",
            "gpu_processes",
            "process_gpu_utilization_percent",
            "process_gpu_encoder_utilization_percent",
            "process_gpu_decoder_utilization_percent",
            "process_gpu_memory_used_bytes",
            "process_gpu_encoder_sessions",
            "process_gpu_encoder_fps",
            "process_gpu_encoder_latency_seconds",
            "editor_gpu_utilization_percent",
            "editor_gpu_encoder_utilization_percent",
            "editor_gpu_decoder_utilization_percent",
            "editor_gpu_memory_used_bytes",
            "editor_gpu_encoder_sessions",
            "editor_gpu_encoder_fps",
        }
    )

    def __init__(
        self,
        *,
        nvml_module: Any = None,
        editor_view: Callable[[], EditorProcessView | None] | None = None,
        render_active: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        nvml = nvml_module if nvml_module is not None else _import_pynvml()
        self._nvml = nvml
        self._codes = ErrorCodes(nvml)
        self._errors = self._codes.errors
        self._editor_view = editor_view
        self._render_active = render_active
        self._clock = clock
        self._wall_clock = wall_clock
        self._failures: list[BaseException] = []
        self._pid_names: dict[int, str] = {}
        self._name_call: Callable[..., Any] | None = getattr(
            nvml, "nvmlSystemGetProcessName", None)
        self._episodes: list[ThrottleEpisode] = []
        self._open_episode: dict[str, ThrottleEpisode] = {}
        self._view_lock = threading.Lock()
        self._view: GpuView | None = None
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound/DriverNotLoaded, OSError...
            raise CollectorUnavailable(f"NVIDIA driver not usable ({_one_line(exc)})") from exc
        self._open = True
        try:
            count = int(nvml.nvmlDeviceGetCount())
            self._devices = [self._device(i) for i in range(count)]
        except Exception as exc:
            self.close()
            raise CollectorUnavailable(f"cannot list NVIDIA GPUs ({_one_line(exc)})") from exc
        if not self._devices:
            self.close()
            raise CollectorUnavailable("no NVIDIA GPU found")
        self._temperature_sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)

    def _device(self, index: int) -> _Device:
        handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
        raw = self._nvml.nvmlDeviceGetName(handle)
        model = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return _Device(handle, str(index), model)

    def attach(
        self,
        *,
        editor_view: Callable[[], EditorProcessView | None] | None = None,
        render_active: Callable[[], bool] | None = None,
    ) -> None:
        """Give the collector the editor collector's view and the render state after it
        was built (the registry and the manager wire them); None leaves one as it is."""
        if editor_view is not None:
            self._editor_view = editor_view
        if render_active is not None:
            self._render_active = render_active

    def latest_view(self) -> GpuView | None:
        """The devices as of the latest :meth:`collect` (None before the first or after
        :meth:`close`). Thread-safe: returns an immutable snapshot."""
        with self._view_lock:
            return self._view

    def unsupported(self) -> dict[str, str]:
        """``"<gpu>:<what>:<function>" -> why`` for every function a device cannot answer."""
        return {f"{d.gpu}:{key}:{fn}": why
                for d in self._devices for (key, fn), why in d.off.items()}

    # -- the collection ----------------------------------------------------------------------
    def collect(self) -> Sequence[Sample]:
        """Query every device; raises ``RuntimeError`` only when nothing could be read."""
        failures: list[BaseException] = []
        self._failures = failures
        out: list[Sample] = []
        roles = self._roles()
        seen: set[int] = set()
        states: list[GpuDeviceState] = []
        ask = self._ask
        for dev in self._devices:
            labels = dev.labels
            util = ask(dev, "utilization")
            if util is not None:
                out.append(Sample("gpu_utilization_percent", float(util.gpu), labels))
            mem = ask(dev, "memory")
            if mem is not None:
                out.append(Sample("gpu_memory_used_bytes", float(mem.used), labels))
                out.append(Sample("gpu_memory_total_bytes", float(mem.total), labels))
            enc = ask(dev, "encoder")  # [percent, sampling period µs]
            if enc is not None:
                out.append(Sample("gpu_encoder_utilization_percent", float(enc[0]), labels))
            dec = ask(dev, "decoder")
            if dec is not None:
                out.append(Sample("gpu_decoder_utilization_percent", float(dec[0]), labels))
            temp = ask(dev, "temperature", self._temperature_sensor)
            if temp is not None:
                out.append(Sample("gpu_temperature_celsius", float(temp), labels))
            throttle = self._power_and_clocks(dev, out)
            self._encoders(dev, out)
            procs = self._processes(dev, roles, seen, out)
            states.append(GpuDeviceState(
                dev.gpu, dev.model, throttle,
                procs[1] if procs is not None else None,
                procs[0].top if procs is not None else None,
                procs[0].editor_busy if procs is not None else False))
        if not self._pid_names.keys() <= seen:  # forget the names of pids that left
            self._pid_names = {p: n for p, n in self._pid_names.items() if p in seen}
        if not out and failures:
            raise RuntimeError(f"every NVML query failed: {_one_line(failures[0])}")
        self._publish(states)
        return out

    def _power_and_clocks(self, dev: _Device, out: list[Sample]) -> frozenset[str] | None:
        """Clocks, power and the throttle reasons of ``dev``; returns the active reasons."""
        labels = dev.labels
        ask = self._ask
        sm = ask(dev, "sm_clock", CLOCK_SM)
        if sm is not None:
            out.append(Sample("gpu_sm_clock_hertz", float(sm) * 1e6, labels))
        memclk = ask(dev, "memory_clock", CLOCK_MEM)
        if memclk is not None:
            out.append(Sample("gpu_memory_clock_hertz", float(memclk) * 1e6, labels))
        power = ask(dev, "power")  # mW
        if power is not None:
            out.append(Sample("gpu_power_usage_watts", float(power) / 1000.0, labels))
        limit = ask(dev, "power_limit")
        if limit is not None:
            out.append(Sample("gpu_power_limit_watts", float(limit) / 1000.0, labels))
        bits = ask(dev, "throttle")
        if bits is None:
            return None
        active = throttle_reasons(int(bits))
        gpu, model = labels[0], labels[1]
        out.extend(Sample("gpu_throttle_reason", 1.0 if reason in active else 0.0,
                          (gpu, model, ("reason", reason))) for _, reason in THROTTLE_REASONS)
        return active

    def _encoders(self, dev: _Device, out: list[Sample]) -> None:
        labels = dev.labels
        stats = self._ask(dev, "encoder_stats")  # (sessions, average fps, latency µs)
        if stats is not None:
            count, fps, latency = stats
            out.append(Sample("gpu_encoder_sessions", float(count), labels))
            if count:
                out.append(Sample("gpu_encoder_fps", float(fps), labels))
                out.append(Sample("gpu_encoder_latency_seconds", float(latency) / 1e6, labels))
        fbc = self._ask(dev, "fbc_stats")
        if fbc is not None:
            out.append(Sample("gpu_fbc_sessions", float(fbc.sessionsCount), labels))
            if fbc.sessionsCount:
                out.append(Sample("gpu_fbc_fps", float(fbc.averageFPS), labels))
                out.append(Sample("gpu_fbc_latency_seconds", float(fbc.averageLatency) / 1e6,
                                  labels))

    def _processes(
        self, dev: _Device, roles: Mapping[int, tuple[str, str]] | None, seen: set[int],
        out: list[Sample],
    ) -> tuple[DeviceProcesses, int | None] | None:
        """``dev``'s per-process samples; returns the summary and how many processes the
        lists name (None where they cannot be read), or None when nothing per process
        can be read."""
        ask = self._ask
        compute = ask(dev, "compute_processes")
        graphics = ask(dev, "graphics_processes")
        running: list[Any] | None = None
        for got in (compute, graphics):
            if got is not None:
                running = list(got) if running is None else running + list(got)
        util = ask(dev, "process_utilization", dev.util_seen)
        if util:
            dev.util_seen = max(dev.util_seen, *(int(s.timeStamp) for s in util))
        sessions = ask(dev, "encoder_sessions")
        if running is None and util is None and sessions is None:
            return None
        samples, summary = process_samples(
            dev.gpu, running=running, utilization=util, sessions=sessions, roles=roles,
            name_of=self._name_of, seen=seen)
        out.extend(samples)
        if running is None:
            return summary, None
        count = len({p.pid for p in running})
        out.append(Sample("gpu_processes", float(count), dev.labels))
        return summary, count

    # -- NVML calls --------------------------------------------------------------------------
    def _ask(self, dev: _Device, key: str, *args: Any) -> Any:
        """``dev``'s answer for ``key``, or None: when the device cannot answer it (the key is
        then off for good) or when the call failed this time (noted in ``self._failures``)."""
        fn = dev.fns.get(key)
        codes = self._codes
        while True:
            if fn is None:
                if key in dev.gone:
                    return None
                fn = self._choose(dev, key)
                if fn is None:
                    return None
            try:
                return fn(dev.handle, *args)
            except codes.mismatch as exc:
                self._turn_off(dev, key, _one_line(exc))
            except self._errors as exc:
                code = getattr(exc, "value", None)
                if code in codes.off:
                    self._turn_off(dev, key, _one_line(exc))
                elif code in codes.empty and key == "process_utilization":
                    return []  # no process sample newer than the time given
                else:
                    self._failures.append(exc)
                    return None
            fn = None

    def _choose(self, dev: _Device, key: str) -> Callable[..., Any] | None:
        for fn_name in DEVICE_CALLS[key]:
            if (key, fn_name) in dev.off:
                continue
            fn: Callable[..., Any] | None = getattr(self._nvml, fn_name, None)
            if fn is None:
                dev.off[(key, fn_name)] = "not in this nvidia-ml-py"
                continue
            dev.fns[key] = fn
            dev.names[key] = fn_name
            return fn
        dev.gone.add(key)
        reasons = "; ".join(f"{fn}: {why}" for (k, fn), why in dev.off.items() if k == key)
        _log.info("GPU %s (%s): no %s (%s)", dev.gpu, dev.model, CALL_TEXT[key], reasons)
        return None

    def _turn_off(self, dev: _Device, key: str, why: str) -> None:
        fn_name = dev.names.pop(key, "?")
        dev.fns.pop(key, None)
        dev.off[(key, fn_name)] = why

    def _name_of(self, pid: int) -> str:
        name = self._pid_names.get(pid)
        if name is None:
            name = self._pid_names[pid] = self._read_name(pid)
        return name

    def _read_name(self, pid: int) -> str:
        """NVML's name of ``pid`` as a label (``unknown`` when it cannot say)."""
        fn = self._name_call
        if fn is None:
            return "unknown"
        try:
            return process_label(fn(pid))
        except self._codes.mismatch:
            self._name_call = None
        except self._errors as exc:
            if getattr(exc, "value", None) in self._codes.off:
                _log.info("GPU process names not available (%s)", _one_line(exc))
                self._name_call = None
        return "unknown"

    # -- the view ----------------------------------------------------------------------------
    def _roles(self) -> dict[int, tuple[str, str]] | None:
        if self._editor_view is None:
            return None
        view = self._editor_view()
        if view is None:
            return {}
        return {pid: (role, name) for pid, role, name in view.members}

    def _rendering(self) -> bool:
        if self._render_active is None:
            return False
        try:
            return bool(self._render_active())
        except Exception as exc:  # a broken source must not fail the collection
            _log.debug("render state unreadable: %s", exc)
            return False

    def _publish(self, states: list[GpuDeviceState]) -> None:
        now = self._clock()
        rendering = self._rendering()
        for st in states:
            hot = (st.throttle or frozenset()) & RENDER_THROTTLE_REASONS
            if not hot or not (rendering or st.editor_busy):
                self._open_episode.pop(st.gpu, None)
                continue
            ep = self._open_episode.get(st.gpu)
            if ep is None:
                ep = ThrottleEpisode(st.gpu, st.model, hot, now, now, self._wall_clock(), 1,
                                     "render" if rendering else "gpu")
                self._episodes.append(ep)
                del self._episodes[:-MAX_EPISODES]
            else:
                new = replace(ep, reasons=ep.reasons | hot, last_at=now,
                              collections=ep.collections + 1)
                for i in range(len(self._episodes) - 1, -1, -1):
                    if self._episodes[i] is ep:
                        self._episodes[i] = new
                        break
                ep = new
            self._open_episode[st.gpu] = ep
        with self._view_lock:
            before = self._view
            self._view = GpuView(
                looked_at=now,
                looked_every=max(0.0, now - before.looked_at) if before is not None else 0.0,
                rendering=rendering,
                devices=tuple(states),
                episodes=tuple(self._episodes),
            )

    def close(self) -> None:
        """Shut NVML down (once; later calls do nothing)."""
        with self._view_lock:
            self._view = None
        if not getattr(self, "_open", False):
            return
        self._open = False
        try:
            self._nvml.nvmlShutdown()
        except Exception as exc:  # shutting down anyway: note it, never raise
            _log.debug("nvmlShutdown failed: %s", exc)


_NOT_INSTALLED = "nvidia-ml-py is not installed (pip install 'timeline-telemetry[gpu]')"


def _import_pynvml() -> Any:
    try:
        installed = importlib.util.find_spec("pynvml") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules holds None for it
        installed = False
    if not installed:
        raise CollectorUnavailable(_NOT_INSTALLED)
    if not _nvml_loadable():
        raise CollectorUnavailable("NVIDIA driver not usable (NVML Shared Library Not Found)")
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        raise CollectorUnavailable(_NOT_INSTALLED) from exc


def _nvml_loadable() -> bool:
    """False when the NVML library certainly cannot load, so pynvml is not imported at all:
    its ctypes bindings (~1 MB) stay in memory once imported, driver or not. Only decided on
    Linux (pynvml loads exactly ``libnvidia-ml.so.1`` there); elsewhere pynvml looks."""
    if not sys.platform.startswith("linux"):
        return True
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]

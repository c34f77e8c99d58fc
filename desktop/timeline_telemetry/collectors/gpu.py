"""NVIDIA GPU utilisation, VRAM, NVENC/NVDEC load and temperature through NVML (nvidia-ml-py)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from timeline_telemetry.metrics.model import Labels

from .base import CollectorUnavailable, Sample

__all__ = ["NvidiaGpuCollector"]

_log = logging.getLogger(__name__)


class NvidiaGpuCollector:
    """One series per metric and device, labelled ``gpu="<index>"`` and ``name="<model>"``.

    ``nvml_module`` is the ``pynvml`` module (imported lazily when None). The constructor raises
    :class:`CollectorUnavailable` with a one-line reason when the module is missing, NVML cannot
    start (no driver) or there is no device. A query failing for one device skips that metric of
    that device, so the series of a lost GPU (``GPU is lost``: every query fails) disappear;
    when every query of every device fails (driver gone), ``collect()`` raises ``RuntimeError``
    and the manager keeps the last values for a few runs (see ``TelemetryManager``).
    ``close()`` shuts NVML down once.
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
        }
    )

    def __init__(self, *, nvml_module: Any = None) -> None:
        nvml = nvml_module if nvml_module is not None else _import_pynvml()
        self._nvml = nvml
        error = getattr(nvml, "NVMLError", None)
        self._errors: tuple[type[BaseException], ...] = (
            (error,) if isinstance(error, type) and issubclass(error, Exception) else (Exception,)
        )
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

    def _device(self, index: int) -> tuple[Any, Labels]:
        handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
        raw = self._nvml.nvmlDeviceGetName(handle)
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return handle, (("gpu", str(index)), ("name", name))

    def collect(self) -> Sequence[Sample]:
        """Query every device; raises ``RuntimeError`` only when nothing could be read."""
        nvml = self._nvml
        out: list[Sample] = []
        failures: list[BaseException] = []

        def query(fn: Callable[..., Any], *args: Any) -> Any:
            try:
                return fn(*args)
            except self._errors as exc:
                failures.append(exc)
                return None

        for handle, labels in self._devices:
            util = query(nvml.nvmlDeviceGetUtilizationRates, handle)
            if util is not None:
                out.append(Sample("gpu_utilization_percent", float(util.gpu), labels))
            mem = query(nvml.nvmlDeviceGetMemoryInfo, handle)
            if mem is not None:
                out.append(Sample("gpu_memory_used_bytes", float(mem.used), labels))
                out.append(Sample("gpu_memory_total_bytes", float(mem.total), labels))
            enc = query(nvml.nvmlDeviceGetEncoderUtilization, handle)  # [percent, period_us]
            if enc is not None:
                out.append(Sample("gpu_encoder_utilization_percent", float(enc[0]), labels))
            dec = query(nvml.nvmlDeviceGetDecoderUtilization, handle)
            if dec is not None:
                out.append(Sample("gpu_decoder_utilization_percent", float(dec[0]), labels))
            temp = query(nvml.nvmlDeviceGetTemperature, handle, self._temperature_sensor)
            if temp is not None:
                out.append(Sample("gpu_temperature_celsius", float(temp), labels))
        if not out and failures:
            raise RuntimeError(f"every NVML query failed: {_one_line(failures[0])}")
        return out

    def close(self) -> None:
        """Shut NVML down (once; later calls do nothing)."""
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

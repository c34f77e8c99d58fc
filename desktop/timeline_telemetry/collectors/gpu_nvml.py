"""What the GPU collector asks NVML and how it reads the answers: function names (with the
older driver's fallbacks), return codes, clock types and the clock throttle reason bits.

The collector never imports ``pynvml`` names directly: it looks every function up on the NVML
module it was given (``pynvml``, or a :class:`~.gpu_replay.RecordedNvml` in tests and
benches), so a function the bindings lack is simply absent and one the driver lacks raises
``NVML_ERROR_FUNCTION_NOT_FOUND`` (or, for pynvml's unversioned process-list calls on a
driver without their ``_v3``, ``NVMLLibraryMismatchError``, which is not an ``NVMLError``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CALL_TEXT",
    "CLOCK_MEM",
    "CLOCK_SM",
    "DEVICE_CALLS",
    "RENDER_THROTTLE_REASONS",
    "THROTTLE_REASONS",
    "THROTTLE_REASON_TEXT",
    "ErrorCodes",
    "throttle_reasons",
]

# -- return codes (nvml.h); the module's own constants win where it has them ---------------
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_FUNCTION_NOT_FOUND = 13

#: ``nvmlClockType_t``: the SM and the memory clock.
CLOCK_SM = 1
CLOCK_MEM = 2

#: ``nvmlClocksEventReason*`` (formerly ``nvmlClocksThrottleReason*``) bits -> label value of
#: ``gpu_throttle_reason{reason}``. Every one is reported (1 active, 0 not) where the reasons
#: can be read, so the series set is fixed.
THROTTLE_REASONS: tuple[tuple[int, str], ...] = (
    (0x001, "gpu_idle"),
    (0x002, "applications_clocks"),
    (0x004, "sw_power_cap"),
    (0x008, "hw_slowdown"),
    (0x010, "sync_boost"),
    (0x020, "sw_thermal"),
    (0x040, "hw_thermal"),
    (0x080, "hw_power_brake"),
    (0x100, "display_clock"),
)

#: The reasons that slow a render down for heat or power (the GPU throttle health check's).
#: HW slowdown is the driver's emergency brake for temperature or an external power signal.
RENDER_THROTTLE_REASONS: frozenset[str] = frozenset(
    {"sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal", "hw_power_brake"}
)

#: How a person reads each reason (messages, the bundle summary).
THROTTLE_REASON_TEXT: dict[str, str] = {
    "gpu_idle": "idle",
    "applications_clocks": "application clocks",
    "sw_power_cap": "power cap",
    "hw_slowdown": "hardware slowdown",
    "sync_boost": "sync boost",
    "sw_thermal": "thermal slowdown",
    "hw_thermal": "hardware thermal slowdown",
    "hw_power_brake": "power brake",
    "display_clock": "display clock",
}

#: Per device: a key (what is turned off when unsupported) -> the functions to try, in order.
#: The first one the bindings and driver have answers; one that is absent, unsupported
#: (``NOT_SUPPORTED``: consumer cards), missing from the driver (``FUNCTION_NOT_FOUND``,
#: ``NVMLLibraryMismatchError``: older drivers) or refused (``NO_PERMISSION``) is not asked
#: again for that device.
DEVICE_CALLS: dict[str, tuple[str, ...]] = {
    "utilization": ("nvmlDeviceGetUtilizationRates",),
    "memory": ("nvmlDeviceGetMemoryInfo",),
    "encoder": ("nvmlDeviceGetEncoderUtilization",),
    "decoder": ("nvmlDeviceGetDecoderUtilization",),
    "temperature": ("nvmlDeviceGetTemperature",),
    "sm_clock": ("nvmlDeviceGetClockInfo",),
    "memory_clock": ("nvmlDeviceGetClockInfo",),
    "power": ("nvmlDeviceGetPowerUsage",),
    "power_limit": ("nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit"),
    "throttle": (
        "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetCurrentClocksThrottleReasons",
    ),
    "compute_processes": (
        "nvmlDeviceGetComputeRunningProcesses",
        "nvmlDeviceGetComputeRunningProcesses_v2",
    ),
    "graphics_processes": (
        "nvmlDeviceGetGraphicsRunningProcesses",
        "nvmlDeviceGetGraphicsRunningProcesses_v2",
    ),
    "process_utilization": ("nvmlDeviceGetProcessUtilization",),
    "encoder_stats": ("nvmlDeviceGetEncoderStats",),
    "encoder_sessions": ("nvmlDeviceGetEncoderSessions",),
    "fbc_stats": ("nvmlDeviceGetFBCStats",),
}

#: What each key of :data:`DEVICE_CALLS` reads, for log lines.
CALL_TEXT: dict[str, str] = {
    "utilization": "GPU utilisation",
    "memory": "memory use",
    "encoder": "encoder utilisation",
    "decoder": "decoder utilisation",
    "temperature": "temperature",
    "sm_clock": "SM clock",
    "memory_clock": "memory clock",
    "power": "power draw",
    "power_limit": "power limit",
    "throttle": "clock throttle reasons",
    "compute_processes": "compute processes (per-process memory)",
    "graphics_processes": "graphics processes (per-process memory)",
    "process_utilization": "per-process utilisation",
    "encoder_stats": "encoder sessions",
    "encoder_sessions": "per-process encoder sessions",
    "fbc_stats": "frame buffer capture (NvFBC) sessions",
}


class ErrorCodes:
    """The return codes that decide what a failed call means, read from ``nvml`` (pynvml's
    constants) with nvml.h's values as defaults, and the exception types to catch."""

    __slots__ = ("empty", "errors", "mismatch", "off")

    def __init__(self, nvml: Any) -> None:
        def code(name: str, default: int) -> int:
            value = getattr(nvml, name, default)
            return value if isinstance(value, int) else default

        #: Codes after which a function is not asked again for that device.
        self.off = frozenset({
            code("NVML_ERROR_NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED),
            code("NVML_ERROR_FUNCTION_NOT_FOUND", NVML_ERROR_FUNCTION_NOT_FOUND),
            code("NVML_ERROR_NO_PERMISSION", NVML_ERROR_NO_PERMISSION),
        })
        #: What ``nvmlDeviceGetProcessUtilization`` raises when there is no sample newer than
        #: the time given: ``NOT_FOUND``, and (pynvml raises any code but "buffer too small"
        #: after its first call) ``NVML_SUCCESS`` with a count of 0.
        self.empty = frozenset({code("NVML_ERROR_NOT_FOUND", NVML_ERROR_NOT_FOUND),
                                code("NVML_SUCCESS", 0)})
        error = getattr(nvml, "NVMLError", None)
        self.errors: tuple[type[BaseException], ...] = (
            (error,) if isinstance(error, type) and issubclass(error, Exception) else (Exception,)
        )
        mismatch = getattr(nvml, "NVMLLibraryMismatchError", None)
        self.mismatch: tuple[type[BaseException], ...] = (
            (mismatch,) if isinstance(mismatch, type) and issubclass(mismatch, Exception) else ()
        )


def throttle_reasons(bits: int) -> frozenset[str]:
    """The label values of the reasons set in ``bits``."""
    return frozenset(name for bit, name in THROTTLE_REASONS if bits & bit)

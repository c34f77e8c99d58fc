"""The NVIDIA collector: a small stand-in for the few NVML calls it makes (no GPU here), and the
real pynvml import/initialisation path on this GPU-less machine."""

from __future__ import annotations

import sys

import pytest
from collector_helpers import FakeNvml, NVMLError, assert_catalogued, series, value

from timeline_telemetry.collectors.base import CollectorUnavailable
from timeline_telemetry.collectors.gpu import NvidiaGpuCollector

GPU0 = {"gpu": "0", "name": "NVIDIA RTX A4000"}
GPU1 = {"gpu": "1", "name": "NVIDIA GeForce RTX 4090"}


def test_reports_every_metric_per_device() -> None:
    nvml = FakeNvml()
    s = NvidiaGpuCollector(nvml_module=nvml).collect()
    assert_catalogued(s)
    assert len(s) == 12
    assert value(s, "gpu_utilization_percent", **GPU0) == 40
    assert value(s, "gpu_utilization_percent", **GPU1) == 41
    assert value(s, "gpu_memory_used_bytes", **GPU1) == 2 * 2**30
    assert value(s, "gpu_memory_total_bytes", **GPU0) == 16 * 2**30
    assert value(s, "gpu_encoder_utilization_percent", **GPU0) == 70
    assert value(s, "gpu_decoder_utilization_percent", **GPU0) == 30
    assert value(s, "gpu_temperature_celsius", **GPU1) == 61


def test_a_failing_query_skips_only_that_metric_of_that_device() -> None:
    nvml = FakeNvml()
    col = NvidiaGpuCollector(nvml_module=nvml)
    nvml.broken = {("enc", 1), ("mem", 0)}
    s = col.collect()
    assert len(series(s, "gpu_encoder_utilization_percent")) == 1
    assert value(s, "gpu_encoder_utilization_percent", **GPU0) == 70
    assert list(series(s, "gpu_memory_used_bytes")) == [tuple(sorted(GPU1.items()))]
    assert len(series(s, "gpu_temperature_celsius")) == 2


def test_everything_failing_raises_so_the_manager_counts_it() -> None:
    nvml = FakeNvml()
    col = NvidiaGpuCollector(nvml_module=nvml)
    nvml.broken = {("*", 0), ("*", 1)}
    with pytest.raises(RuntimeError, match="every NVML query failed"):
        col.collect()


def test_init_failure_or_no_device_is_unavailable() -> None:
    with pytest.raises(CollectorUnavailable, match="Driver Not Loaded"):
        NvidiaGpuCollector(nvml_module=FakeNvml(init_error=NVMLError("Driver Not Loaded")))
    nvml = FakeNvml(count=0)
    with pytest.raises(CollectorUnavailable, match="no NVIDIA GPU"):
        NvidiaGpuCollector(nvml_module=nvml)
    assert nvml.shutdowns == 1


def test_close_shuts_nvml_down_once() -> None:
    nvml = FakeNvml()
    col = NvidiaGpuCollector(nvml_module=nvml)
    col.close()
    col.close()
    assert nvml.shutdowns == 1


def test_real_pynvml_without_a_driver_is_unavailable_in_one_line() -> None:
    try:
        col = NvidiaGpuCollector()
    except CollectorUnavailable as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and len(reason) < 300
        return
    col.close()
    pytest.skip("an NVIDIA driver is present on this machine")


def test_without_the_driver_pynvml_is_not_even_imported() -> None:
    """Its ctypes bindings would stay in memory (~1 MB) for nothing."""
    import subprocess

    code = ("import sys\n"
            "from timeline_telemetry.collectors.gpu import NvidiaGpuCollector\n"
            "from timeline_telemetry.collectors.base import CollectorUnavailable\n"
            "try:\n    NvidiaGpuCollector().close(); print('driver')\n"
            "except CollectorUnavailable as e:\n    print('pynvml' in sys.modules, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    if out == "driver" or not sys.platform.startswith("linux"):
        pytest.skip("an NVIDIA driver is present (or not Linux): pynvml is used")
    if "not installed" in out:
        pytest.skip("nvidia-ml-py is not installed here (the gpu extra)")
    assert out == "False NVIDIA driver not usable (NVML Shared Library Not Found)"


def test_missing_module_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes the import fail
    with pytest.raises(CollectorUnavailable, match="nvidia-ml-py is not installed"):
        NvidiaGpuCollector()

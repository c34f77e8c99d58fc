"""Helpers for the collector tests: a real stand-in editor process tree, a psutil module that
counts full scans, a hand-driven clock, a stand-in NVML, and functions to read samples."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

import support
from timeline_telemetry.collectors.base import Sample
from timeline_telemetry.metrics.catalog import DEFAULT_CATALOG

FAKE_EDITOR = Path(__file__).with_name("fake_editor.py")
PYTHON = os.path.realpath(sys.executable)


def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``cond`` until it holds, failing after ``timeout`` seconds."""
    support.wait_for(cond, timeout=timeout, what=what, interval=0.01)


def value(samples: Sequence[Sample], name: str, /, **labels: str) -> float:
    """The value of the one sample with this name and exactly these labels."""
    want = tuple(sorted(labels.items()))
    found = [s.value for s in samples if s.name == name and s.labels == want]
    assert len(found) == 1, f"{name}{want}: {found} in {[(s.name, s.labels) for s in samples]}"
    return found[0]


def series(samples: Sequence[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every series of one metric, labels -> value."""
    return {s.labels: s.value for s in samples if s.name == name}


def assert_catalogued(samples: Sequence[Sample]) -> None:
    """Every sample names a catalog metric, carries sorted labels and a finite value."""
    for s in samples:
        assert s.name in DEFAULT_CATALOG, s.name
        assert list(s.labels) == sorted(s.labels), s
        assert s.value == s.value and abs(s.value) != float("inf"), s


class FakeEditor:
    """A real process named ``timeline-studio`` that spawns children on request."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> int:
        self.proc = subprocess.Popen(
            [str(self.bin_dir / "timeline-studio"), str(FAKE_EDITOR), str(self.bin_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        return self.proc.pid

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def ask(self, line: str) -> str:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def spawn(self, name: str = "ffmpeg", mode: str = "idle", *args: str) -> int:
        return int(self.ask(" ".join(("spawn", name, mode, *args))))

    def spawn_sh(self, name: str = "ffmpeg") -> int:
        return int(self.ask(f"spawn-sh {name}"))

    def reap(self, pid: int) -> None:
        assert self.ask(f"wait {pid}") == "reaped"

    def kill(self) -> None:
        """SIGKILL the editor, reap it and close the pipes (its children see EOF and exit)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()



class CountingPsutil:
    """The real psutil module, counting full process scans (``process_iter`` calls)."""

    def __init__(self) -> None:
        self.process_iter_calls = 0

    def process_iter(self, *args: Any, **kwargs: Any) -> Any:
        self.process_iter_calls += 1
        return psutil.process_iter(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(psutil, name)



class ManualClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class NVMLError(Exception):
    pass


class FakeNvml:
    """Two GPUs; ``broken`` holds (call name, device index) pairs that raise NVMLError."""

    NVMLError = NVMLError
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, count: int = 2, init_error: Exception | None = None) -> None:
        self.count = count
        self.init_error = init_error
        self.broken: set[tuple[str, int]] = set()
        self.shutdowns = 0

    def _check(self, call: str, handle: int) -> None:
        if (call, handle) in self.broken or ("*", handle) in self.broken:
            raise NVMLError(f"{call} failed")

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> Any:
        return b"NVIDIA RTX A4000" if h == 0 else "NVIDIA GeForce RTX 4090"

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        self._check("util", h)
        return SimpleNamespace(gpu=40 + h, memory=10)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        self._check("mem", h)
        return SimpleNamespace(used=(h + 1) * 2**30, total=16 * 2**30, free=0)

    def nvmlDeviceGetEncoderUtilization(self, h: int) -> list[int]:
        self._check("enc", h)
        return [70, 167000]

    def nvmlDeviceGetDecoderUtilization(self, h: int) -> list[int]:
        self._check("dec", h)
        return [30, 167000]

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        self._check("temp", h)
        return 60 + h

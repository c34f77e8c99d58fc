"""ConsoleExporter: the line format, rates from consecutive snapshots, never raising."""

from __future__ import annotations

import io
import time

from timeline_telemetry.export.base import ExportResult, ExportState
from timeline_telemetry.export.console import ConsoleExporter, format_line, human_rate
from timeline_telemetry.metrics import Metrics, Snapshot

GIB = 1024**3
T0 = 1_700_000_000.0 + 3 * 3600 + 12 * 60 + 5 - 1_700_000_000.0 % 86400  # 03:12:05 UTC


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def system_metrics(clock: Clock, sent: float, received: float) -> Metrics:
    m = Metrics(clock=lambda: T0 + clock.now - 100.0)
    m.set_gauge("system_cpu_usage_percent", 12.34)
    m.set_gauge("system_memory_usage_bytes", 7.1 * GIB)
    m.set_gauge("system_memory_total_bytes", 15.6 * GIB)
    m.set_gauge("system_disk_usage_bytes", 61, {"mountpoint": "/"})
    m.set_gauge("system_disk_available_bytes", 39, {"mountpoint": "/"})
    m.set_gauge("system_disk_usage_bytes", 9, {"mountpoint": "/media"})
    m.set_gauge("system_disk_available_bytes", 1, {"mountpoint": "/media"})
    m.set_counter_total("system_network_bytes_sent_total", sent)
    m.set_counter_total("system_network_bytes_received_total", received)
    m.set_gauge("editor_up", 0)
    return m


def test_one_line_per_export_with_rates() -> None:
    clock, out = Clock(), io.StringIO()
    exp = ConsoleExporter(stream=out, clock=clock, localtime=time.gmtime)
    exp.start()
    assert exp.export(system_metrics(clock, 1_000_000, 5_000_000).snapshot()) \
        is ExportResult.SUCCESS
    clock.now += 10
    exp.export(system_metrics(clock, 13_000_000, 39_000_000).snapshot())
    first, second = out.getvalue().splitlines()
    assert first == ("03:12:05+0000 cpu 12.3% mem 7.1/15.6 GiB disk / 61% /media 90% "
                     "net ↑- ↓- editor off gpu -")
    assert second == ("03:12:15+0000 cpu 12.3% mem 7.1/15.6 GiB disk / 61% /media 90% "
                      "net ↑1.2 MB/s ↓3.4 MB/s editor off gpu -")
    assert str(exp.status()) == "Healthy"


def test_editor_and_gpu_and_missing_values() -> None:
    m = Metrics(clock=lambda: T0)
    m.set_gauge("editor_up", 1)
    m.set_gauge("editor_cpu_usage_percent", 35.2)
    m.set_gauge("editor_memory_rss_bytes", 2.5 * GIB)
    m.set_gauge("gpu_utilization_percent", 45, {"gpu": "0"})
    m.set_gauge("system_memory_usage_bytes", 1 * GIB)
    m.set_gauge("system_memory_available_bytes", 3 * GIB)  # no total: used + available
    line = format_line(m.snapshot(), localtime=time.gmtime)
    assert line == ("03:12:05+0000 cpu - mem 1.0/4.0 GiB disk - net ↑- ↓- editor on 35% 2.5 GiB "
                    "gpu 45%")
    assert format_line(Snapshot(T0), localtime=time.gmtime) == (
        "03:12:05+0000 cpu - mem - disk - net ↑- ↓- editor off gpu -")


def test_counter_reset_shows_no_rate() -> None:
    clock, out = Clock(), io.StringIO()
    exp = ConsoleExporter(stream=out, clock=clock, localtime=time.gmtime)
    exp.export(system_metrics(clock, 5_000, 5_000).snapshot())
    clock.now += 1
    exp.export(system_metrics(clock, 10, 6_000).snapshot())  # sent went back: reboot/wrap
    assert out.getvalue().splitlines()[1].endswith("net ↑- ↓1.0 kB/s editor off gpu -")


def test_human_rate() -> None:
    assert [human_rate(v) for v in (None, 0, 999, 1000, 1_250_000, 3.4e9, 5e13)] == [
        "-", "0 B/s", "999 B/s", "1.0 kB/s", "1.2 MB/s", "3.4 GB/s", "50000.0 GB/s"]


def test_ascii_console_gets_no_arrows() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252")
    exp = ConsoleExporter(stream=stream, localtime=time.gmtime)
    assert exp.export(Snapshot(T0)) is ExportResult.SUCCESS
    assert b"net tx - rx - editor off" in raw.getvalue()


class Broken(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_stream_never_raises() -> None:
    exp = ConsoleExporter(stream=Broken(), localtime=time.gmtime)
    exp.start()
    assert exp.export(Snapshot(T0)) is ExportResult.FAILURE
    assert exp.status().state is ExportState.FAILED
    assert "BrokenPipeError" in exp.status().detail
    assert exp.errors == 1

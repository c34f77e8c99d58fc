"""From ``health.checks`` (or the built-in set) to check objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import assert_never

from timeline_telemetry.collectors.editor import EditorProcessView
from timeline_telemetry.collectors.gpu import GpuView
from timeline_telemetry.collectors.proctree import executable_stem
from timeline_telemetry.config.schema import (
    DatabaseCheckConfig,
    DiskSpaceCheckConfig,
    EditorConfig,
    FfmpegCheckConfig,
    GpuThrottleCheckConfig,
    HealthCheckConfig,
    HealthConfig,
    HttpCheckConfig,
    MemoryCheckConfig,
    ProcessCheckConfig,
)
from timeline_telemetry.export.base import ExportStatus

from .database import DatabaseHealthCheck
from .disk import DiskSpaceHealthCheck
from .exporters import ExporterStatusHealthCheck
from .ffmpeg import FfmpegHealthCheck
from .gpu import GpuThrottleHealthCheck
from .http_api import HttpHealthCheck
from .ingest import IngestLimitHit, IngestLimitsHealthCheck
from .memory import MemoryHealthCheck
from .model import HealthCheck
from .process import ProcessHealthCheck

__all__ = ["MEDIA_FOOTAGE_BITRATE_MBPS", "build_health_checks"]

#: Bitrate for the footage-hours estimate of the editor's media dirs (ProRes proxy ~ 100).
MEDIA_FOOTAGE_BITRATE_MBPS = 100.0


def build_health_checks(
    health_config: HealthConfig,
    *,
    data_dir: Path,
    editor_config: EditorConfig,
    export_status: Callable[[], Mapping[str, ExportStatus]] | None,
    ingest_status: Callable[[], Sequence[IngestLimitHit]] | None = None,
    editor_view: Callable[[], EditorProcessView | None] | None = None,
    gpu_view: Callable[[], GpuView | None] | None = None,
) -> list[HealthCheck]:
    """The checks to run, named uniquely.

    Without ``checks`` in the config: ``disk`` (the drive of ``data_dir``), one ``disk:<dir>``
    per ``editor.media_dirs`` entry (with footage hours at 100 Mbit/s), ``memory`` and
    ``ffmpeg``. Then, unless ``export_status`` is None (the one-shot ``check`` command), the
    ``exporters`` check; and with ``ingest_status`` (the OTLP receiver's limit hits) the
    ``ingest`` check.

    ``editor_view`` is the running editor collector's ``latest_view`` (None where no collector
    runs): a Process check for the same names as ``editor.process_names`` then reads what the
    collector saw instead of scanning on its own, so it always agrees with ``editor_up``.

    ``gpu_view`` is the running GPU collector's ``latest_view`` (None where none runs): with
    it the ``gpu`` check (GPU throttled for heat or power during a render) is added, unless
    ``checks`` configures a ``GpuThrottle`` check, which then reads it instead.
    """
    timeout = health_config.default_timeout
    checks: list[HealthCheck]
    if health_config.checks is None:
        checks = _defaults(data_dir, editor_config, timeout)
    else:
        checks = [_from_config(c, editor_config, timeout, editor_view, gpu_view)
                  for c in health_config.checks]
    configured = health_config.checks or ()
    if gpu_view is not None and not any(isinstance(c, GpuThrottleCheckConfig)
                                        for c in configured):
        taken = {c.name for c in checks}
        checks.append(GpuThrottleHealthCheck(
            gpu_view, name="gpu" if "gpu" not in taken else "gpu-throttle"))
    if export_status is not None:
        checks.append(ExporterStatusHealthCheck(export_status))
    if ingest_status is not None:
        checks.append(IngestLimitsHealthCheck(ingest_status))
    return checks


def _defaults(data_dir: Path, editor: EditorConfig, timeout: float) -> list[HealthCheck]:
    checks: list[HealthCheck] = [
        DiskSpaceHealthCheck(data_dir, 0.9, nearest_existing=True, name="disk"),
    ]
    for media in dict.fromkeys(editor.media_dirs):
        checks.append(DiskSpaceHealthCheck(
            Path(media).expanduser(), 0.9, footage_bitrate_mbps=MEDIA_FOOTAGE_BITRATE_MBPS,
            name=f"disk:{media}"))
    checks.append(MemoryHealthCheck(0.8))
    checks.append(FfmpegHealthCheck(probe_timeout=timeout))
    return checks


def _from_config(c: HealthCheckConfig, editor: EditorConfig, default_timeout: float,
                 editor_view: Callable[[], EditorProcessView | None] | None = None,
                 gpu_view: Callable[[], GpuView | None] | None = None,
                 ) -> HealthCheck:
    effective = c.timeout or default_timeout
    if isinstance(c, DiskSpaceCheckConfig):
        return DiskSpaceHealthCheck(
            c.path, c.max_used_fraction, warning_margin=c.warning_margin,
            footage_bitrate_mbps=c.footage_bitrate_mbps, name=c.check_name, timeout=c.timeout)
    if isinstance(c, MemoryCheckConfig):
        return MemoryHealthCheck(c.max_used_fraction, warning_margin=c.warning_margin,
                                 name=c.check_name, timeout=c.timeout)
    if isinstance(c, FfmpegCheckConfig):
        return FfmpegHealthCheck(c.encoders, path=c.path, name=c.check_name, timeout=c.timeout,
                                 probe_timeout=effective)
    if isinstance(c, DatabaseCheckConfig):
        return DatabaseHealthCheck(c.path, name=c.check_name, timeout=c.timeout)
    if isinstance(c, HttpCheckConfig):
        return HttpHealthCheck(c.url, expected_status=c.expected_status,
                               latency_warning=c.latency_warning, name=c.check_name,
                               timeout=c.timeout, request_timeout=effective)
    if isinstance(c, ProcessCheckConfig):
        names = (c.name,) if c.name else (editor.process_names or EditorConfig().process_names)
        # The collector tracks editor.process_names: its view answers for those names only.
        same = _stems(names) == _stems(editor.process_names)
        return ProcessHealthCheck(names, name=c.check_name, timeout=c.timeout,
                                  view=editor_view if same else None)
    if isinstance(c, GpuThrottleCheckConfig):
        return GpuThrottleHealthCheck(gpu_view, window_s=c.window, reasons=c.reasons,
                                      name=c.check_name, timeout=c.timeout)
    assert_never(c)


def _stems(names: Sequence[str]) -> frozenset[str]:
    return frozenset(executable_stem(n) for n in names if n.strip())

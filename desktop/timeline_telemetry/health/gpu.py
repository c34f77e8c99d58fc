"""GpuThrottleHealthCheck: Warning while the GPU throttles for heat or power during a render.

A throttled GPU explains a slow export better than its utilisation does. The GPU collector
(``NvidiaGpuCollector.latest_view``) reads each device's clock throttle reasons every
collection and notes an episode whenever one of :data:`RENDER_THROTTLE_REASONS` (power cap,
thermal slowdown, hardware thermal slowdown, HW slowdown, power brake) is active while a
render runs: the editor announced a render or export (its ``editor_render_active`` /
``editor_export_active`` gauges), or its children (ffmpeg...) are busy on that GPU. This
check only reads that view: Warning while an episode with one of ``reasons`` is younger than
``window_s``, naming the GPU, the reasons, how long and how recent; Healthy otherwise (saying
so when a GPU is throttled now but no render runs, or when its throttle reasons cannot be
read); Unknown before the collector's first run, when its view is stale, or when no GPU
collector runs at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from timeline_telemetry.collectors.gpu import GpuView, ThrottleEpisode
from timeline_telemetry.collectors.gpu_nvml import RENDER_THROTTLE_REASONS, THROTTLE_REASON_TEXT

from .model import HealthCheckResult, HealthStatus
from .units import human_duration

__all__ = ["DEFAULT_WINDOW_S", "GpuThrottleHealthCheck"]

#: How long after the last throttled collection the check stays Warning.
DEFAULT_WINDOW_S = 300.0
#: A view older than this many collector cadences (at least ``_MIN_STALE_S``) is not trusted.
STALE_VIEW_CADENCES = 3.0
_MIN_STALE_S = 120.0


class GpuThrottleHealthCheck:
    """Warning while a GPU throttled for one of ``reasons`` during a render in the last
    ``window_s`` seconds (see the module's docstring). ``view`` is the GPU collector's
    :meth:`~timeline_telemetry.collectors.gpu.NvidiaGpuCollector.latest_view` (None: no GPU
    collector runs); ``clock`` must be the collector's monotonic clock."""

    kind = "gpu"

    def __init__(
        self,
        view: Callable[[], GpuView | None] | None,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        reasons: Iterable[str] = RENDER_THROTTLE_REASONS,
        name: str = "gpu",
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        wanted = frozenset(reasons)
        unknown = wanted - RENDER_THROTTLE_REASONS
        if unknown or not wanted:
            raise ValueError(f"reasons must be among {sorted(RENDER_THROTTLE_REASONS)}, "
                             f"got {sorted(wanted)}")
        self._view = view
        self.window_s = window_s
        self.reasons = wanted
        self.name = name
        self.timeout = timeout
        self._clock = clock

    def check(self) -> HealthCheckResult:
        """Read the collector's view once."""
        if self._view is None:
            return self._unknown("no NVIDIA GPU is watched (GPU metrics are off or no GPU was "
                                 "found); only the running agent watches throttling")
        view = self._view()
        if view is None:
            return self._unknown("not looked yet (the GPU collector has not run)")
        now = self._clock()
        age = max(0.0, now - view.looked_at)
        stale_after = max(_MIN_STALE_S, STALE_VIEW_CADENCES * view.looked_every)
        if age > stale_after:
            return self._unknown(f"the GPU collector last looked {age:.0f}s ago; throttling "
                                 "is not known", looked_seconds_ago=round(age, 1))
        window = _span(self.window_s)
        recent = [ep for ep in view.episodes
                  if ep.reasons & self.reasons and now - ep.last_at <= self.window_s]
        if recent:
            parts = [_episode_text(ep, self.reasons, now) for ep in _latest_per_gpu(recent)]
            return HealthCheckResult.warning(
                "GPU throttled during a render: " + "; ".join(parts),
                gpus=sorted({ep.gpu for ep in recent}),
                reasons=sorted(set().union(*(ep.reasons & self.reasons for ep in recent))),
                window_seconds=self.window_s)
        notes: list[str] = []
        for dev in view.devices:
            if dev.throttle is None:
                notes.append(f"GPU {dev.gpu} ({dev.model}) cannot report throttle reasons")
            elif dev.throttle & self.reasons:
                notes.append(f"GPU {dev.gpu} is held back now "
                             f"({_reasons(dev.throttle & self.reasons)}) but no render runs")
        message = f"no thermal or power throttling during a render in the last {window}"
        if notes:
            message += "; " + "; ".join(notes)
        return HealthCheckResult.healthy(
            message, rendering=view.rendering,
            readable=[d.gpu for d in view.devices if d.throttle is not None])

    def _unknown(self, message: str, **metadata: object) -> HealthCheckResult:
        return HealthCheckResult(HealthStatus.UNKNOWN, message, time.time(), 0.0, metadata)


def _latest_per_gpu(episodes: list[ThrottleEpisode]) -> list[ThrottleEpisode]:
    latest: dict[str, ThrottleEpisode] = {}
    for ep in episodes:
        if ep.gpu not in latest or ep.last_at >= latest[ep.gpu].last_at:
            latest[ep.gpu] = ep
    return [latest[g] for g in sorted(latest)]


def _episode_text(ep: ThrottleEpisode, wanted: frozenset[str], now: float) -> str:
    lasted = max(0.0, ep.last_at - ep.first_at)
    ago = max(0.0, now - ep.last_at)
    how = "for " + _span(lasted) if lasted >= 1 else "once"
    when = "now" if ago < 1 else f"{_span(ago)} ago"
    why = "the editor's render" if ep.cause == "render" else "the editor's children on it"
    return (f"GPU {ep.gpu} ({ep.model}): {_reasons(ep.reasons & wanted)}, {how} "
            f"(last {when}, during {why})")


def _span(seconds: float) -> str:
    """``300`` -> ``5 min``, ``75`` -> ``1m 15s``, ``12`` -> ``12s``."""
    whole = int(seconds)
    if whole >= 60 and whole % 60 == 0 and whole < 3600:
        return f"{whole // 60} min"
    return human_duration(seconds)


def _reasons(reasons: Iterable[str]) -> str:
    return ", ".join(THROTTLE_REASON_TEXT.get(r, r) for r in sorted(reasons))

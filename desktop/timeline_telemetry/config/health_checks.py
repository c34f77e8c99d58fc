"""Parsing ``health.checks``: ``[{"DiskSpace": {"path": "/tmp"}}, {"Memory": {}}, ...]``.

Each check is an object with exactly one key naming its kind (the design document's externally
tagged form, as for exporters). Every kind takes an optional ``name`` (the check's name) and
``timeout`` (a duration; null = ``health.default_timeout``), except Process, whose ``name``
is the process to look for. ``null`` for the whole list means the built-in checks. Two checks
with the same (effective) name are reported on the later one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._reader import Bad, Context, ObjectReader, check_http_url, show
from .durations import parse_duration
from .schema import (
    GPU_THROTTLE_REASONS,
    DatabaseCheckConfig,
    DiskSpaceCheckConfig,
    FfmpegCheckConfig,
    GpuThrottleCheckConfig,
    HealthCheckConfig,
    HttpCheckConfig,
    MemoryCheckConfig,
    ProcessCheckConfig,
    json_keys,
)

__all__ = ["RESERVED_CHECK_NAMES", "parse_health_checks"]

#: Names a check may not take: ``system`` is the overall status (``system_health_status``).
RESERVED_CHECK_NAMES = frozenset({"system"})
_ENCODER = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_NAME = 100


def _check_name(value: object) -> str | Bad | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return Bad(f"expected a non-empty string or null, got {show(value)}")
    if len(value) > _MAX_NAME or not value.isprintable():
        return Bad(f"{show(value)} is not accepted: use at most {_MAX_NAME} printable "
                   "characters")
    if value in RESERVED_CHECK_NAMES:
        return Bad(f"{show(value)} is reserved for the overall status; pick another name")
    return value


def _check_timeout(value: object) -> float | Bad | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return Bad(f'expected a duration string such as "5s" or null, got {show(value)}')
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        return Bad(str(exc))
    if seconds == 0:
        return Bad(f"{show(value)} must be longer than zero")
    return seconds


def _check_fraction(value: object) -> float | Bad:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    return Bad(f"expected a fraction above 0 and at most 1 (e.g. 0.9 = 90 % used), "
               f"got {show(value)}")


def _check_margin(value: object) -> float | Bad:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value)
    return Bad(f"expected a fraction from 0 to below 1 (e.g. 0.05 = warn 5 % before the "
               f"limit), got {show(value)}")


def _check_bitrate(value: object) -> float | Bad | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e6:
        return float(value)
    return Bad(f"expected a bitrate in Mbit/s above 0 (e.g. 100) or null, got {show(value)}")


def _check_path(value: object) -> str | Bad:
    if not isinstance(value, str) or not value.strip():
        return Bad(f"expected a path string, got {show(value)}")
    return value


def _check_url(value: object) -> str | Bad:
    return check_http_url(value, "http://127.0.0.1:8080/health")


def _check_status(value: object) -> int | Bad:
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return Bad(f"expected an HTTP status code (accepted: 100 to 599), got {show(value)}")


def _common(r: ObjectReader) -> tuple[str | None, float | None]:
    return r.get("name", None, _check_name), r.get("timeout", None, _check_timeout)


def _margin_below(r: ObjectReader, limit: float, margin: float, default: float) -> float:
    if margin >= limit and not r.has("warning_margin"):
        return default  # the default margin does not fit under a small limit: scale it
    if margin >= limit:
        r.ctx.problem(r.path("warning_margin"),
                      f"{margin:g} is not below max_used_fraction ({limit:g}); the warning "
                      "must start before the limit")
        return default
    return margin


# -- one parser per kind -------------------------------------------------------------------
def _disk(r: ObjectReader) -> DiskSpaceCheckConfig | None:
    d = DiskSpaceCheckConfig(r.ctx.base_dir)
    raw = r.get("path", None, _check_path) if r.require("path", "a directory path") else None
    limit = r.get("max_used_fraction", d.max_used_fraction, _check_fraction)
    margin = r.get("warning_margin", d.warning_margin, _check_margin)
    margin = _margin_below(r, limit, margin, min(d.warning_margin, limit / 2))
    bitrate = r.get("footage_bitrate_mbps", d.footage_bitrate_mbps, _check_bitrate)
    name, timeout = _common(r)
    if raw is None:
        return None
    return DiskSpaceCheckConfig(r.ctx.resolve_path(raw), limit, margin, bitrate, name, timeout)


def _memory(r: ObjectReader) -> MemoryCheckConfig | None:
    d = MemoryCheckConfig()
    limit = r.get("max_used_fraction", d.max_used_fraction, _check_fraction)
    margin = r.get("warning_margin", d.warning_margin, _check_margin)
    margin = _margin_below(r, limit, margin, min(d.warning_margin, limit / 2))
    name, timeout = _common(r)
    return MemoryCheckConfig(limit, margin, name, timeout)


def _ffmpeg(r: ObjectReader) -> FfmpegCheckConfig | None:
    encoders = r.str_list("encoders", ())
    for i, enc in enumerate(encoders):
        if not _ENCODER.fullmatch(enc):
            r.ctx.problem(f"{r.path('encoders')}[{i}]",
                          f"{show(enc)} is not an encoder name (as listed by "
                          "'ffmpeg -encoders', e.g. libx264, hevc_nvenc)")
    path = r.get("path", None, _check_opt_path)
    if path is not None and ("/" in path or "\\" in path or path.startswith("~")):
        path = str(r.ctx.resolve_path(path))  # a file; a bare name is looked up on PATH
    name, timeout = _common(r)
    return FfmpegCheckConfig(tuple(dict.fromkeys(encoders)), path, name, timeout)


def _check_opt_path(value: object) -> str | Bad | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return Bad(f"expected the ffmpeg binary's path or a command name, or null, "
                   f"got {show(value)}")
    return value


def _database(r: ObjectReader) -> DatabaseCheckConfig | None:
    raw = r.get("path", None, _check_path) if r.require("path", "an SQLite file path") else None
    name, timeout = _common(r)
    if raw is None:
        return None
    return DatabaseCheckConfig(r.ctx.resolve_path(raw), name, timeout)


def _http(r: ObjectReader) -> HttpCheckConfig | None:
    d = HttpCheckConfig("")
    url = r.get("url", None, _check_url) if r.require("url", "an http(s) URL") else None
    status = r.get("expected_status", d.expected_status, _check_status)
    latency = r.get_duration("latency_warning", d.latency_warning)
    name, timeout = _common(r)
    if url is None:
        return None
    return HttpCheckConfig(url, status, latency, name, timeout)


def _process(r: ObjectReader) -> ProcessCheckConfig | None:
    def process_name(value: object) -> str | Bad | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            return Bad(f"expected the process's executable name (e.g. \"timeline-studio\") "
                       f"or null, got {show(value)}")
        return value

    return ProcessCheckConfig(r.get("name", None, process_name),
                              r.get("timeout", None, _check_timeout))


def _gpu_throttle(r: ObjectReader) -> GpuThrottleCheckConfig | None:
    d = GpuThrottleCheckConfig()
    window = r.get_duration("window", d.window)
    reasons = r.str_list("reasons", d.reasons)
    for i, reason in enumerate(reasons):
        if reason not in GPU_THROTTLE_REASONS:
            r.ctx.problem(f"{r.path('reasons')}[{i}]",
                          f"{show(reason)} is not a thermal or power throttle reason "
                          f"(accepted: {', '.join(GPU_THROTTLE_REASONS)})")
    if r.has("reasons") and not reasons:
        r.ctx.problem(r.path("reasons"), "name at least one reason, or leave the key out")
    name, timeout = _common(r)
    return GpuThrottleCheckConfig(window, tuple(dict.fromkeys(reasons)) or d.reasons, name,
                                  timeout)


_KINDS: dict[str, tuple[type, Callable[[ObjectReader], HealthCheckConfig | None]]] = {
    "DiskSpace": (DiskSpaceCheckConfig, _disk),
    "Memory": (MemoryCheckConfig, _memory),
    "Ffmpeg": (FfmpegCheckConfig, _ffmpeg),
    "Database": (DatabaseCheckConfig, _database),
    "Http": (HttpCheckConfig, _http),
    "Process": (ProcessCheckConfig, _process),
    "GpuThrottle": (GpuThrottleCheckConfig, _gpu_throttle),
}


def parse_health_checks(
    ctx: Context, path: str, data: object
) -> tuple[HealthCheckConfig, ...] | None:
    """``telemetry.health.checks``: a list of tagged checks, or null for the built-in set."""
    if data is None:
        return None
    accepted = ", ".join(_KINDS)
    if not isinstance(data, list):
        ctx.problem(path, f'expected a list of checks such as [{{"Memory": {{}}}}] or null, '
                          f"got {show(data)}")
        return None
    out: list[HealthCheckConfig] = []
    names: dict[str, int] = {}
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            hint = f'; write {{"{item}": {{}}}}' if isinstance(item, str) and item in _KINDS else ""
            ctx.problem(where, f'expected a check object such as {{"Memory": {{}}}}, '
                               f"got {show(item)}{hint}")
            continue
        if len(item) != 1:
            got = f"{len(item)} keys ({', '.join(item)})" if item else "an empty object"
            ctx.problem(where, "a check is an object with exactly one key naming its kind "
                               f"(accepted: {accepted}); got {got}")
            continue
        ((kind, body),) = item.items()
        if kind not in _KINDS:
            ctx.problem(where, f"unknown check {show(kind)} (accepted: {accepted})")
            continue
        cls, parse = _KINDS[kind]
        check = parse(ObjectReader(ctx, f"{where}.{kind}", {} if body is None else body,
                                   json_keys(cls)))
        if check is None:
            continue
        name = check.check_name
        if name in names:
            ctx.problem(where, f'check name "{name}" is already used by checks[{names[name]}]; '
                               'give one of them a different "name"')
            continue
        names[name] = i
        out.append(check)
    return tuple(out)

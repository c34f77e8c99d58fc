"""Who the workstation is, for ``system.json``: distribution, time zone, locale, uptime.

The time zone and its UTC offset let support match the bundle's times with the editor's own
local log times; the locale tells how the editor writes dates and numbers.
"""

from __future__ import annotations

import datetime as dt
import locale
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from .timefmt import local_rfc3339, utc_offset

__all__ = ["distribution", "locale_info", "time_zone", "uptime"]

_LOCALE_VARS = ("LC_ALL", "LC_TIME", "LC_NUMERIC", "LC_CTYPE", "LANG", "LANGUAGE")


def distribution(system: str | None = None) -> dict[str, object]:
    """The OS distribution and its version: ``/etc/os-release`` on Linux
    (``platform.freedesktop_os_release``), ``platform.mac_ver`` on macOS,
    ``platform.win32_ver`` on Windows."""
    system = system or platform.system()
    if system == "Linux":
        rel = platform.freedesktop_os_release()
        return {"name": rel.get("NAME"), "version": rel.get("VERSION"),
                "id": rel.get("ID"), "version_id": rel.get("VERSION_ID"),
                "pretty_name": rel.get("PRETTY_NAME")}
    if system == "Darwin":
        release, _info, machine = platform.mac_ver()
        return {"name": "macOS", "version": release, "machine": machine}
    if system == "Windows":
        release, version, csd, ptype = platform.win32_ver()
        return {"name": "Windows", "version": version, "release": release,
                "edition": platform.win32_edition(), "service_pack": csd, "type": ptype}
    return {"name": system, "version": platform.release()}


def time_zone(now: float, *, environ: Mapping[str, str] | None = None,
              localtime: Path = Path("/etc/localtime")) -> dict[str, object]:
    """The local time zone at ``now``: its IANA name where it can be told (``TZ``, the
    ``/etc/localtime`` link, ``/etc/timezone``), its abbreviation, the UTC offset and DST."""
    environ = os.environ if environ is None else environ
    local = dt.datetime.fromtimestamp(now, tz=dt.UTC).astimezone()
    offset, offset_s = utc_offset(now)
    return {"name": _iana_name(environ, localtime) or local.tzname(),
            "abbreviation": local.tzname(), "utc_offset": offset,
            "utc_offset_seconds": offset_s,
            "dst": bool(time.localtime(now).tm_isdst > 0), "now": local_rfc3339(now)}


def _iana_name(environ: Mapping[str, str], localtime: Path) -> str | None:
    tz = environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        return name or None
    except OSError:
        return None


def locale_info(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The process's locale (as the agent sees it) and the locale variables of the
    environment, which the editor inherits when started from the same session."""
    environ = os.environ if environ is None else environ
    lang, encoding = locale.getlocale()
    return {"locale": lang, "encoding": encoding,
            "preferred_encoding": locale.getpreferredencoding(False),
            "environment": {k: environ[k] for k in _LOCALE_VARS if environ.get(k)}}


def uptime(boot_time: Callable[[], float], now: float) -> dict[str, object]:
    """When the workstation booted (local RFC 3339) and how long it has been up."""
    boot = boot_time()
    secs = max(0.0, now - boot)
    return {"boot_time": local_rfc3339(boot), "seconds": round(secs, 1),
            "human": str(dt.timedelta(seconds=int(secs)))}

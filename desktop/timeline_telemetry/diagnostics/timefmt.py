"""Times in the bundle: RFC 3339 with the workstation's own UTC offset.

Support matches the bundle against the editor's local log times, so every time in the
bundle's JSON is written as local time with its offset (``2026-12-05T21:07:19.743+01:00``),
never as an epoch float or a bare UTC time. The live ``/health`` and ``/api/v1`` bodies keep
their own formats (other tools read them); the bundle converts what it receives with
:func:`localize_times`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

__all__ = ["is_time_key", "local_rfc3339", "localize_times", "utc_offset"]

#: Name parts that mark a point in time (``started_at``, ``activeAt``, ``ts``, ``boot_time``).
_TIME_WORDS = frozenset({"time", "timestamp", "ts", "at", "when", "since", "boot", "date",
                         "until"})
#: A last name part that marks a duration, not a point in time (``since_s``, ``uptime_seconds``).
_DURATION_WORDS = frozenset({"s", "sec", "secs", "seconds", "duration", "unix", "ns", "nano"})
_MS_WORDS = frozenset({"ms", "millis"})
#: Epoch seconds from 2000 to 2100: a number outside is a count or a duration, left alone.
_EPOCH_MIN, _EPOCH_MAX = 946_684_800.0, 4_102_444_800.0
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def _words(key: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(key) if w]


def is_time_key(key: str) -> bool:
    """Whether a JSON key names a point in time (``ts``, ``*_at``, ``*At``, ``when``,
    ``boot_time``...), not a duration (``since_s``, ``uptime_seconds``) or an explicit epoch
    (``*_unix``)."""
    words = _words(key)
    if not words or words[-1] in _DURATION_WORDS:
        return False
    return any(w in _TIME_WORDS for w in words)


def local_rfc3339(ts: float, *, tz: dt.tzinfo | None = None) -> str:
    """Epoch seconds as RFC 3339 in ``tz`` (default: the workstation's local zone, with its
    offset at that instant, so DST is right on both sides of a change), to the millisecond."""
    when = dt.datetime.fromtimestamp(ts, tz=dt.UTC).astimezone(tz)
    return when.isoformat(timespec="milliseconds")


def utc_offset(ts: float, *, tz: dt.tzinfo | None = None) -> tuple[str, int]:
    """The local UTC offset at ``ts`` as ``("+01:00", 3600)``."""
    off = dt.datetime.fromtimestamp(ts, tz=dt.UTC).astimezone(tz).utcoffset() or dt.timedelta()
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    hours, rest = divmod(abs(secs), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}", secs


def _convert(key: str, value: object, tz: dt.tzinfo | None) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        secs = float(value) / 1000.0 if _words(key)[-1] in _MS_WORDS else float(value)
        if _EPOCH_MIN <= secs <= _EPOCH_MAX:
            return local_rfc3339(secs, tz=tz)
        return value
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is None:  # no offset: which zone it meant is unknown; keep it
            return value
        return local_rfc3339(parsed.timestamp(), tz=tz)
    return localize_times(value, tz=tz)


def localize_times(value: object, *, tz: dt.tzinfo | None = None) -> object:
    """A copy of a JSON value with every time field (see :func:`is_time_key`) as local
    RFC 3339: epoch seconds (``*_ms``: milliseconds) and ISO times with an offset are
    converted; anything else (None, counts, durations, free text) is kept as it is."""
    if isinstance(value, Mapping):
        out: dict[object, object] = {}
        for k, v in value.items():
            if isinstance(k, str) and is_time_key(k):
                out[k] = _convert(k, v, tz)
            else:
                out[k] = localize_times(v, tz=tz)
        return out
    if isinstance(value, list | tuple):
        return [localize_times(v, tz=tz) for v in value]
    return value

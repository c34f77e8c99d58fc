"""Duration strings of the config: ``500ms``, ``5s``, ``10m``, ``1h``, ``24h``, ``7d``, ``1h30m``.

A duration is one or more ``<integer><unit>`` parts with no spaces, units from largest to
smallest, each at most once. Units: ``d``, ``h``, ``m``, ``s``, ``ms``, ``us``. Values are
float seconds; parsing counts whole microseconds, so ``parse_duration(format_duration(x))``
gives ``x`` back exactly for every ``x`` that came from ``parse_duration``.
"""

from __future__ import annotations

import math
import re

__all__ = ["DURATION_EXAMPLES", "DURATION_RANGE", "format_duration", "parse_duration"]

DURATION_EXAMPLES = "examples: 500ms, 5s, 10m, 1h, 7d"

# Microseconds per unit, largest first (the order parts must come in).
_UNITS: dict[str, int] = {
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
_RANK = {unit: i for i, unit in enumerate(_UNITS)}
# "ms"/"us" before "m"/"s" so "5ms" is not read as 5m + "s".
# ASCII digits only: ``\d`` would also take other scripts' digits.
_PART = re.compile(r"([0-9]+)(ms|us|d|h|m|s)")
_WHOLE = re.compile(r"(?:[0-9]+(?:ms|us|d|h|m|s))+")
_MAX_US = 100 * 365 * _UNITS["d"]  # a century: anything longer is a typo
#: The accepted range, for messages.
DURATION_RANGE = "0s to 36500d, i.e. 100 years"


def parse_duration(text: str) -> float:
    """Parse a duration string into seconds.

    Raises ``ValueError`` whose message quotes the input and shows examples, e.g.
    ``"5 sec" is not a duration (examples: 500ms, 5s, 10m, 1h, 7d)``.
    """
    if not isinstance(text, str) or not _WHOLE.fullmatch(text):
        hint = ": add a unit" if isinstance(text, str) and text.isdigit() else ""
        raise ValueError(f"{_quote(text)} is not a duration{hint} ({DURATION_EXAMPLES})")
    total = 0
    last_rank = -1
    for match in _PART.finditer(text):
        unit = match.group(2)
        rank = _RANK[unit]
        if rank <= last_rank:
            raise ValueError(
                f"{_quote(text)} is not a duration: give units from largest to smallest, "
                f"each once, e.g. 1h30m ({DURATION_EXAMPLES})"
            )
        last_rank = rank
        digits = match.group(1).lstrip("0")
        # 20 digits of any unit are past the cap already; int() of thousands of digits is
        # refused by Python itself, with a message about sys.set_int_max_str_digits.
        if len(digits) > 20:
            raise _out_of_range(text)
        total += int(digits or "0") * _UNITS[unit]
        if total > _MAX_US:
            raise _out_of_range(text)
    return total / 1_000_000


def _out_of_range(text: str) -> ValueError:
    return ValueError(f"{_quote(text)} is longer than 100 years "
                      f"(accepted: {DURATION_RANGE})")


def format_duration(seconds: float) -> str:
    """The shortest duration string for ``seconds`` (the inverse of :func:`parse_duration`).

    Rounds to whole microseconds; 0 is ``"0s"``. Raises ``ValueError`` for negative or
    non-finite values.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format {seconds!r} as a duration")
    rest = round(seconds * 1_000_000)
    if rest == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _quote(value: object) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)

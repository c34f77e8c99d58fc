"""The subset of Prometheus' Go templates that alert labels and annotations use.

Supported inside ``{{ ... }}``: ``$value``, ``$labels.NAME``, ``$labels``, string and
number literals, the functions ``humanize``, ``humanize1024``, ``humanizePercentage``,
``humanizeDuration``, ``printf "FMT" ARGS``, ``toUpper``, ``toLower``, ``title`` and pipes
(``{{ $value | humanizePercentage }}``). Anything else is refused when rules load
(:func:`check_template`), naming the construct. Numbers print as Go's ``%v`` does.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping
from decimal import Decimal

__all__ = ["TemplateError", "check_template", "expand", "go_float", "humanize",
           "humanize_duration", "humanize_percentage"]

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)


class TemplateError(Exception):
    """A template uses something unsupported, or failed to expand."""


def go_float(v: float) -> str:
    """``fmt.Sprint(v)`` for a float64 (``%g`` with the shortest exact digits)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    d = Decimal(repr(v)).normalize()
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    ds = "".join(map(str, digits))
    point = len(ds) + exp  # decimal point position
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:  # Go: shortest precision decides with eprec = 6
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{neg}{ds}{'0' * (point - len(ds))}"
    return f"{neg}{ds[:point]}.{ds[point:]}"


def _g4(v: float) -> str:
    return f"{v:.4g}"


def humanize(v: float) -> str:
    """Prometheus ``humanize``: SI prefixes, 4 significant digits."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def humanize1024(v: float) -> str:
    """Prometheus ``humanize1024``: binary prefixes."""
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v) + prefix


def humanize_percentage(v: float) -> str:
    """Prometheus ``humanizePercentage``: ``0.1234`` -> ``12.34%``."""
    return _g4(v * 100) + "%"


def humanize_duration(v: float) -> str:
    """Prometheus ``humanizeDuration``: seconds -> ``1d 2h 3m 4s`` (or ms/us/ns below 1s)."""
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        secs = int(v) % 60
        minutes = int(v) // 60 % 60
        hours = int(v) // 3600 % 24
        days = int(v) // 86400
        out = ""
        if days:
            out = f"{days}d {hours}h {minutes}m {secs}s"
        elif hours:
            out = f"{hours}h {minutes}m {secs}s"
        elif minutes:
            out = f"{minutes}m {secs}s"
        else:
            return f"{sign}{v:.4g}s"
        return sign + out
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{v:.4g}{prefix}s"


def _to_float(x: object) -> float:
    if isinstance(x, (int, float)):
        return float(x)
    try:
        return float(str(x))
    except ValueError:
        raise TemplateError(f"cannot convert {x!r} to a number") from None


def _printf(fmt: object, *args: object) -> str:
    conv = []
    for a in args:
        conv.append(a)
    try:
        return str(fmt).replace("%v", "%s") % tuple(
            go_float(a) if isinstance(a, float) and "%v" in str(fmt) else a for a in conv
        )
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf: {exc}") from None


_FUNCS: dict[str, Callable[..., str]] = {
    "humanize": lambda v: humanize(_to_float(v)),
    "humanize1024": lambda v: humanize1024(_to_float(v)),
    "humanizePercentage": lambda v: humanize_percentage(_to_float(v)),
    "humanizeDuration": lambda v: humanize_duration(_to_float(v)),
    "printf": _printf,
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
}


def _term(tok: str, labels: Mapping[str, str], value: float) -> object:
    if tok in {"$value", ".Value"}:
        return value
    if tok.startswith("$labels.") or tok.startswith(".Labels."):
        return labels.get(tok.split(".", 2)[-1] if tok.startswith(".") else tok[8:], "")
    if tok in ("$labels", ".Labels"):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(labels.items())) + "]"
    if tok.startswith('"') or tok.startswith("`"):
        return tok[1:-1]
    try:
        return float(tok) if "." in tok or "e" in tok.lower() else int(tok)
    except ValueError:
        raise TemplateError(f"unsupported template term {tok!r}") from None


def _render(x: object) -> str:
    return go_float(x) if isinstance(x, float) else str(x)


def _action(body: str, labels: Mapping[str, str], value: float) -> str:
    result: object = None
    for i, cmd in enumerate(body.split("|")):
        try:
            toks = shlex.split(cmd.strip(), posix=False)
        except ValueError as exc:
            raise TemplateError(f"bad template action {{{{ {body} }}}}: {exc}") from None
        if not toks:
            raise TemplateError(f"empty template command in {{{{ {body} }}}}")
        head, rest = toks[0], toks[1:]
        if head in _FUNCS:
            args = [_term(t, labels, value) for t in rest]
            if i > 0:
                args.append(result)
            result = _FUNCS[head](*args)
        elif head.startswith(("$", ".", '"', "`")) or head[:1].isdigit():
            if i > 0 or rest:
                raise TemplateError(f"bad template action {{{{ {body} }}}}")
            result = _term(head, labels, value)
        else:
            raise TemplateError(f"unsupported template function {head!r}")
    return _render(result)


def expand(text: str, labels: Mapping[str, str], value: float) -> str:
    """Expand every ``{{ ... }}`` in ``text``."""
    return _ACTION.sub(lambda m: _action(m.group(1), labels, value), text)


def check_template(text: str) -> None:
    """Raise :class:`TemplateError` if ``text`` uses anything unsupported."""
    expand(text, {"instance": "x"}, 1.0)

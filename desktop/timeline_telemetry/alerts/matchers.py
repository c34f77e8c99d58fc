"""Alertmanager's matcher syntax, as ``amtool`` takes it: ``alertname="HighCPUUsage"``,
``severity=~"warn.*"``, ``instance!=host1``, ``job!~"a|b"``, or a brace list
``{alertname="X", severity="warning"}``.

Follows Alertmanager's ``pkg/labels/parse.go`` (classic parser): a label name
``[a-zA-Z_:][a-zA-Z0-9_:]*``, an operator ``=~ = != !~``, and a value either bare or in
double quotes; inside, ``\\"``, ``\\\\`` and ``\\n`` are escapes, any other backslash is
literal, and an unescaped ``"`` is an error. Regexes match the whole value (anchored, like
Alertmanager's ``^(?:re)$``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from timeline_telemetry.history.model import LabelMatcher

__all__ = [
    "MatcherError",
    "format_matcher",
    "parse_matcher",
    "parse_matchers",
    "parse_silence_matchers",
]

#: Shown with every error: what a matcher looks like.
ACCEPTED = ('expected NAME OP VALUE with OP one of = != =~ !~, e.g. alertname="HighCPUUsage" '
            'or severity=~"warn.*"')

# '=~' and '!~' before '=' and '!=': otherwise '=' is consumed and '~' joins the value.
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.S)
_BARE_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class MatcherError(ValueError):
    """A matcher that cannot be parsed; the message names it and says what is accepted."""


def parse_matcher(text: str) -> LabelMatcher:
    """One matcher, e.g. ``severity=~"warn.*"``. Raises :class:`MatcherError`."""
    m = _MATCHER.match(text)
    if m is None:
        raise MatcherError(f"bad matcher {text!r}: {ACCEPTED}")
    name, op, raw = m.groups()
    value = _unquote(raw, text)
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(
                f"bad matcher {text!r}: {value!r} is not a regular expression ({exc}); "
                "it must match the whole label value, e.g. \"warn.*\"") from None
    return LabelMatcher(name, op, value)


def _unquote(raw: str, text: str) -> str:
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out: list[str] = []
    closed = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "n":
                out.append("\n")
            elif nxt in '"\\':
                out.append(nxt)
            else:  # a spurious escape: the backslash is literal
                out.append("\\" + nxt)
            i += 2
            continue
        if c == '"':
            if not quoted or i != len(raw) - 1:
                raise MatcherError(
                    f'bad matcher {text!r}: unescaped double quote in the value (write \\" '
                    'inside a quoted value)')
            closed = True
        else:
            out.append(c)
        i += 1
    if quoted and not closed:
        raise MatcherError(f"bad matcher {text!r}: the value's closing double quote is missing")
    return "".join(out)


def _split(text: str) -> list[str]:
    """Split ``a="x,y", b=z`` on the commas outside double quotes."""
    parts: list[str] = []
    cur: list[str] = []
    in_quotes = escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\" and in_quotes:
            escaped = True
        elif c == '"':
            in_quotes = not in_quotes
        elif c == "," and not in_quotes:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    parts.append("".join(cur))
    return parts


def parse_matchers(text: str) -> list[LabelMatcher]:
    """A comma-separated list, optionally in braces: ``{alertname="X", severity!="info"}``.
    A trailing comma is allowed; an empty list is an error."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise MatcherError(f"bad matchers {text!r}: the closing brace is missing")
        body = body[1:-1]
    elif body.endswith("}"):
        raise MatcherError(f"bad matchers {text!r}: the opening brace is missing")
    parts = _split(body)
    if parts and not parts[-1].strip():
        parts.pop()  # trailing comma
    if not parts:
        raise MatcherError(f"no matchers in {text!r}: {ACCEPTED}")
    return [parse_matcher(p) for p in parts]


def parse_silence_matchers(args: Sequence[str]) -> list[LabelMatcher]:
    """The matchers of ``silence add`` (as ``amtool silence add``): each argument one
    matcher or a brace list; a first argument that is only a name means
    ``alertname="NAME"``. At least one matcher must not match the empty string
    (Alertmanager's rule), so a silence cannot mute every alert by accident."""
    if not args:
        raise MatcherError(f"no matchers given: {ACCEPTED}")
    out: list[LabelMatcher] = []
    for i, arg in enumerate(args):
        if i == 0 and _BARE_NAME.match(arg.strip()):
            out.append(LabelMatcher("alertname", "=", arg.strip()))
        else:
            out.extend(parse_matchers(arg))
    if all(m.matches({}) for m in out):
        shown = ", ".join(format_matcher(m) for m in out)
        raise MatcherError(
            f"matchers {shown} also match alerts that lack these labels (every matcher "
            'matches the empty string): add one that does not, e.g. alertname="HighCPUUsage"')
    return out


def format_matcher(m: LabelMatcher) -> str:
    """The matcher in the same syntax, value quoted and escaped: parses back to itself."""
    v = m.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{m.name}{m.op}"{v}"'

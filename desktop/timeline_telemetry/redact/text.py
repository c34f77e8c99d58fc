"""The one redaction function for text, and its key/value form.

Thread-safe and stateless (precompiled patterns; a caller that wants counts passes its own
``Counter``). Cost on text without secrets: a handful of regex scans, no allocation.
"""

from __future__ import annotations

import re
from collections import Counter

from .argv import ARGS_LINE, mask_args
from .rules import KEYED_RULES, MASK, SECRET_KEY, TOKEN_KINDS, TOKEN_RX, URL_RULES, is_reference

__all__ = ["redact_attribute", "redact_text"]

# what a token match keeps (the format's prefix), by kind
_HEAD = {"pem_private_key": "pem_head", "aws_access_key": "aws_head",
         "github_token": "github_head", "slack_token": "slack_head",
         "bearer": "bearer_head", "basic": "basic_head"}
_SPACED = frozenset({"bearer", "basic"})


def redact_text(s: str, counts: Counter[str] | None = None) -> str:
    """``s`` with credentials masked as ``***``: URL user info, secret query values and
    webhook paths; AWS access key ids, GitHub and Slack tokens, JWTs, PEM private-key
    blocks, ``Bearer``/``Basic`` credentials; values written after a secret-looking name
    (``password=x``, ``token: x``, ``"api_key": "x"``, ``AWS_SECRET_ACCESS_KEY=x``); the
    argument after a secret flag on a command line (``--token x``, ``mysql -px``).

    ``keyring:``/``env:`` references are kept (they are names). ``counts``, when given, gets
    one count per masked item by kind (``aws_access_key``, ``secret_key``, ...)."""
    for kind, rx, repl in URL_RULES:
        s, n = rx.subn(repl, s)
        if n and counts is not None:
            counts[kind] += n
    s = TOKEN_RX.sub(_TokenMask(counts), s)
    for rules in KEYED_RULES:
        s = _keyed(rules, s, counts)
    return ARGS_LINE.sub(lambda m: _args_line(m, counts), s)


def redact_attribute(key: str, value: str, counts: Counter[str] | None = None) -> str:
    """``value`` as it may be shown under ``key``: all of it masked when ``key`` looks secret
    (``authorization``, ``api_key``, ``db.password``...), else through :func:`redact_text`."""
    if SECRET_KEY.search(key) and value and value != MASK and not is_reference(value):
        if counts is not None:
            counts["secret_key"] += 1
        return MASK
    return redact_text(value, counts)


class _TokenMask:
    """``re.sub`` replacement for :data:`TOKEN_RX` that counts by kind."""

    __slots__ = ("_counts",)

    def __init__(self, counts: Counter[str] | None) -> None:
        self._counts = counts

    def __call__(self, m: re.Match[str]) -> str:
        kind = next(k for k in TOKEN_KINDS if m.group(k) is not None)
        if self._counts is not None:
            self._counts[kind] += 1
        head = _HEAD.get(kind)
        kept = m.group(head) if head is not None else ""
        return kept + (" " if kind in _SPACED else "") + MASK


def _keyed(rules: tuple[re.Pattern[str], re.Pattern[str]], s: str,
           counts: Counter[str] | None) -> str:
    name_rx, value_rx = rules
    out: list[str] = []
    pos = 0
    for m in name_rx.finditer(s):
        if m.start() < pos or not SECRET_KEY.search(m.group(1)):
            continue
        value = value_rx.match(s, m.end(1))
        if value is None:
            continue
        out += (s[pos:m.end(1)], MASK)
        pos = value.end()
        if counts is not None:
            counts["secret_key"] += 1
    return "".join(out) + s[pos:] if out else s


def _args_line(m: re.Match[str], counts: Counter[str] | None) -> str:
    parts = re.split(r"(\s+)", m.group(0))
    words = parts[0::2]
    n = mask_args(words, whole=False)
    if not n:
        return m.group(0)
    if counts is not None:
        counts["secret_arg"] += n
    parts[0::2] = words
    return "".join(parts)

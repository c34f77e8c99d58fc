"""Scrubbing, in one place: every byte that goes into a diagnostics bundle passes here.

What is removed (each kind is counted for the manifest):

- ``secret_value``: values that came from ``keyring:``/``env:`` references (resolved in this
  environment) and literal values found under secret-looking keys, wherever they appear;
- ``secret_key``: values under keys named like password, token, secret, api_key,
  authorization, routing/integration/service key, and every HTTP ``headers`` value (JSON),
  or written ``key=value`` / ``key: value`` in text;
- ``bearer`` / ``basic``: ``Bearer xxx`` and ``Basic xxx`` credentials;
- ``url_userinfo``: ``scheme://user:pass@host``; ``url_query_token``: ``?token=...``;
- ``slack_webhook``: the path of ``hooks.slack.com/services/...``;
- ``pagerduty_key``: keys in ``events.pagerduty.com`` URLs and ``routing_key`` fields;
- optionally ``home_path`` and ``user_name``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable

from timeline_telemetry.config.secrets import is_secret_ref

__all__ = ["MASK", "SECRET_KEY", "Scrubber"]

MASK = "***"
#: Key names whose values are secrets (JSON keys, OTLP attribute keys, key=value in text).
SECRET_KEY = re.compile(
    r"password|passwd|pwd|token|secret|api[_-]?key|apikey|authorization|auth[_-]?header"
    r"|routing[_-]?key|integration[_-]?key|service[_-]?key|private[_-]?key|cookie|credential",
    re.IGNORECASE,
)
_ALL_VALUES_SECRET = frozenset({"headers"})
_KEY_WORDS = (
    r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|apikey|authorization"
    r"|routing[_-]?key|integration[_-]?key|service[_-]?key|private[_-]?key|cookie|credential)"
    r"[A-Za-z0-9_.-]*"
)
# (kind, pattern, replacement); applied in order to every text.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("slack_webhook", re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)"
                                 r"[A-Za-z0-9/_-]+"), r"\1" + MASK),
    ("pagerduty_key", re.compile(r"(events\.pagerduty\.com/[A-Za-z0-9/_.-]*?"
                                 r"(?:integration|enqueue|e|v2)/?)([A-Za-z0-9]{20,})"),
     r"\1" + MASK),
    ("url_userinfo", re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@\"'<>]+"
                                r"(?::[^/\s@\"'<>]*)?@"), r"\1" + MASK + "@"),
    ("url_query_token", re.compile(
        r"([?&;](?:access_token|token|api[_-]?key|apikey|key|secret|password|passwd|sig"
        r"|signature|auth|code|routing_key|client_secret)=)[^&#\s\"'<>]+", re.IGNORECASE),
     r"\1" + MASK),
    ("bearer", re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE),
     r"\1 " + MASK),
    ("basic", re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{6,}=*", re.IGNORECASE), r"\1 " + MASK),
    # "key": "value" (JSON in text); references and masks are kept
    ("secret_key", re.compile(
        r'("' + _KEY_WORDS + r'"\s*:\s*")(?!\*\*\*")(?!(?:keyring|env):[A-Za-z0-9_.-]+")'
        r'((?:[^"\\]|\\.)+)(?=")', re.IGNORECASE), r"\1" + MASK),
    # key=value, key: value (logs, command lines); not "key": 1 (JSON numbers)
    ("secret_key", re.compile(
        r"(\b" + _KEY_WORDS + r"\s*[=:]\s*)(?!\*\*\*)(?!(?:keyring|env):)([^\s\"',;&}\]]+)",
        re.IGNORECASE), r"\1" + MASK),
)


class Scrubber:
    """Removes secrets from text and decoded JSON, counting what it removed by kind.

    ``secrets`` are literal values to remove wherever they appear (also in their JSON-escaped
    form); values shorter than 4 characters are ignored (they would shred the text).
    ``home``/``user``, when given, are replaced by ``~`` and ``<user>``.
    Not thread-safe (one bundle at a time uses one scrubber).
    """

    def __init__(
        self, *, secrets: Iterable[str] = (), home: str | None = None, user: str | None = None
    ) -> None:
        self.counts: Counter[str] = Counter()
        self._values: set[str] = set()
        self._value_rx: re.Pattern[str] | None = None
        self._home = home.rstrip("/\\") if home and len(home.rstrip("/\\")) > 1 else None
        self._user_rx = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(user) + r"(?![A-Za-z0-9_])") \
            if user and len(user) >= 2 else None
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Also remove these literal values from now on."""
        for v in values:
            if isinstance(v, str) and len(v) >= 4 and v != MASK:
                self._values.add(v)
                escaped = json.dumps(v)[1:-1]
                if escaped != v:
                    self._values.add(escaped)
        if self._values:
            ordered = sorted(self._values, key=len, reverse=True)
            self._value_rx = re.compile("|".join(re.escape(v) for v in ordered))

    def text(self, s: str) -> str:
        """``s`` with every known secret value and credential pattern masked."""
        if self._value_rx is not None:
            s, n = self._value_rx.subn(MASK, s)
            self.counts["secret_value"] += n
        for kind, rx, repl in _RULES:
            s, n = rx.subn(repl, s)
            if n:
                self.counts[kind] += n
        if self._home is not None and self._home in s:
            self.counts["home_path"] += s.count(self._home)
            s = s.replace(self._home, "~")
        if self._user_rx is not None:
            s, n = self._user_rx.subn("<user>", s)
            self.counts["user_name"] += n
        return s

    def json(self, value: object) -> object:
        """A scrubbed copy of decoded JSON: values under secret keys masked (references
        ``keyring:``/``env:`` kept, they are names), OTLP ``{"key", "value"}`` attributes
        treated like keys, every other string through :meth:`text`."""
        return self._walk(value, secret=False)

    def json_text(self, value: object, *, indent: int | None = 2) -> str:
        """:meth:`json` then ``json.dumps`` then :meth:`text` (catches escaped forms)."""
        return self.text(json.dumps(self.json(value), indent=indent, default=str,
                                    ensure_ascii=False))

    def _walk(self, value: object, *, secret: bool) -> object:
        if isinstance(value, dict):
            attr_key = value.get("key")
            if isinstance(attr_key, str) and "value" in value and SECRET_KEY.search(attr_key):
                return {k: (self._walk(v, secret=True) if k == "value" else v)
                        for k, v in value.items()}
            return {
                str(k): self._walk(
                    v, secret=secret or k in _ALL_VALUES_SECRET or bool(SECRET_KEY.search(str(k)))
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(v, secret=secret) for v in value]
        if isinstance(value, str):
            if secret and value and value != MASK and not is_secret_ref(value):
                self.counts["secret_key"] += 1
                return MASK
            return self.text(value)
        return value

"""Scrubbing, in one place: every byte that goes into a diagnostics bundle passes here.

What is removed (each kind is counted for the manifest):

- ``secret_value``: values that came from ``keyring:``/``env:`` references (resolved in this
  environment), literal values found under secret-looking keys, and alert webhook URLs seen
  in the config, wherever they appear later;
- ``secret_key``: values under keys whose names look secret (one rule set with ``config
  show``: :data:`~timeline_telemetry.config.render.SECRET_KEY`: password, token, secret,
  api_key, authorization, routing/integration/service/private/access key, cookie,
  credential...), every HTTP ``headers`` value (JSON), or written ``key=value`` /
  ``key: value`` in text (so also ``--password=x`` and ``AWS_SECRET_ACCESS_KEY=x``);
- ``secret_arg``: command-line arguments after a secret-looking flag (``--token X``,
  ``-api-key X``, ``--password X``; not ``--token-file PATH`` and the like) and, for the
  programs known to take them, short or glued forms: ``mysql -pX``, ``redis-cli -a X``,
  ``sshpass -p X``, ``curl -u user:X``, openssl's ``-passin pass:X``. A short flag alone
  (``-p``) means too many things (a port for ssh and psql) to be treated everywhere;
- ``bearer`` / ``basic``: ``Bearer xxx`` and ``Basic xxx`` credentials;
- URLs (:data:`~timeline_telemetry.config.render.URL_RULES`, shared with ``config show``):
  ``url_userinfo`` ``scheme://user:pass@host``, ``url_query_token`` ``?token=...``,
  ``slack_webhook`` and ``webhook_path`` (Slack, Discord, Teams webhook paths),
  ``pagerduty_key``; ``webhook_url``: an alert ``Webhook`` action's URL keeps only
  ``scheme://host:port/***``;
- optionally ``home_path`` and ``user_name``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from timeline_telemetry.config.render import (
    MASK,
    SECRET_KEY,
    SECRET_KEY_WORDS,
    URL_RULES,
    hides_url_path,
    is_secret_key,
    redact_url,
)
from timeline_telemetry.config.secrets import is_secret_ref

__all__ = ["MASK", "SECRET_KEY", "Scrubber"]

_KEY_WORDS = r"[A-Za-z0-9_.-]*(?:" + SECRET_KEY_WORDS + r")[A-Za-z0-9_.-]*"
# (kind, pattern, replacement); applied in order to every text.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    *URL_RULES,
    ("bearer", re.compile(r"\b(Bearer)\s+(?!\*\*\*)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE),
     r"\1 " + MASK),
    ("basic", re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{6,}=*", re.IGNORECASE), r"\1 " + MASK),
)
# the value (group 2, looked ahead at, so that a name inside a value is seen too) is masked
# when the name in group 1 looks secret (SECRET_KEY): any name is matched, then tested (a
# regex of the key words themselves is slow on big logs)
_KEYED_RULES: tuple[re.Pattern[str], ...] = (
    # "key": "value" (JSON in text); references and masks are kept
    re.compile(r'("[A-Za-z0-9_.-]+"\s*:\s*")(?!\*\*\*")(?!(?:keyring|env):[A-Za-z0-9_.-]+")'
               r'(?=((?:[^"\\]|\\.)+)")'),
    # key=value, key: value (logs, command lines, environment); not "key": 1 (JSON numbers)
    re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+\s*[=:]\s*)(?!\*\*\*)"
               r"(?!(?:keyring|env):)(?=([^\s\"',;&}\]]+))"),
)

# --- command lines -------------------------------------------------------------------------
# a flag whose next argument is a secret, by its name ("pass": redis-cli, openssl)
_SECRET_FLAG = re.compile(r"--?(?!-)(?!no-)(?:" + _KEY_WORDS + r"|pass|passin|passout)",
                          re.IGNORECASE)
# ... unless the name says the argument only points to the secret or describes it
_NOT_SECRET_ARG = re.compile(r"[-_.](?:files?|path|dir|stdin|fd|env|url|uri|type|name"
                             r"|len(?:gth)?|ttl|helper|command|cmd|jar)$", re.IGNORECASE)
_PASS_FLAGS = frozenset({"pass", "passin", "passout"})
_PASS_REFERENCE = re.compile(r"(?:env|file|fd):|stdin$")  # openssl: a name, not the secret
_MYSQL = re.compile(r"(?:mysql|mariadb)[\w-]*")
#: program -> short flags whose next argument is the secret (``all``) or ``user:secret``
_PROGRAM_FLAGS: dict[str, dict[str, str]] = {
    "mysql": {},  # only the glued -pSECRET: "-p name" prompts, and name is the database
    "redis-cli": {"-a": "all"},
    "sshpass": {"-p": "all"},
    "curl": {"-u": "userinfo", "--user": "userinfo", "-U": "userinfo",
             "--proxy-user": "userinfo"},
}
#: program -> (glued short flag, how its rest is masked)
_GLUED: dict[str, tuple[tuple[str, str], ...]] = {
    "mysql": (("-p", "all"),), "curl": (("-u", "userinfo"), ("-U", "userinfo")),
}
_WRAPPERS = frozenset({"sshpass"})  # their options end at the command they run
_PROGRAM_WORDS = r"mysql|mariadb|redis-cli|sshpass|curl"
# only lines with a candidate flag or program are split into words
_ARGS_LINE = re.compile(
    r"^[^\n]*?(?<![^\s\"'(\[/=])(?:--?(?!-)(?!no-)" + _KEY_WORDS + r"|-pass|" + _PROGRAM_WORDS
    + r")[^\n]*", re.IGNORECASE | re.MULTILINE)
_EDGES = "\"'()[]{},;"
_AFTER_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*(.*)", re.DOTALL)


def _program(word: str) -> str | None:
    name = re.split(r"[/\\]", word)[-1].lower().removesuffix(".exe")
    if _MYSQL.fullmatch(name):
        return "mysql"
    return name if name in _PROGRAM_FLAGS else None


def _flag_mode(word: str, program: str | None) -> str | None:
    """How the argument after ``word`` is masked (None: it is not a secret)."""
    mode = _PROGRAM_FLAGS.get(program or "", {}).get(word)
    if mode is not None:
        return mode
    if not _SECRET_FLAG.fullmatch(word) or _NOT_SECRET_ARG.search(word):
        return None
    return "pass" if word.lstrip("-").lower() in _PASS_FLAGS else "all"


def _mask_value(word: str, mode: str, *, skip: int = 0) -> tuple[str, int]:
    """``word`` (an argument) with its secret part masked, and 1 (or ``word``, 0);
    ``skip`` keeps that many leading characters (a glued flag)."""
    keep, body = word[:skip], word[skip:]
    if mode == "pass" and body.startswith("pass:"):
        keep, body = keep + "pass:", body[5:]
    elif mode == "pass" and _PASS_REFERENCE.match(body):
        return word, 0
    elif mode == "userinfo":
        user, sep, secret = body.partition(":")
        if not sep:
            return word, 0  # curl -u name: the password is asked for
        keep, body = keep + user + sep, secret
    if not body or body.startswith(MASK) or is_secret_ref(body):
        return word, 0
    return keep + MASK, 1


def _mask_args(words: list[str], *, whole: bool) -> int:
    """Mask, in place, the secret arguments among one command line's words; how many.

    ``whole``: each word is one argv element; otherwise words were split from text on
    whitespace, and quotes and punctuation around them are kept."""
    count = 0
    program: str | None = None
    mode: str | None = None
    for i, raw in enumerate(words):
        word = raw if whole else raw.strip(_EDGES)
        at = 0 if whole else len(raw) - len(raw.lstrip(_EDGES))
        masked, n = word, 0
        if mode is not None and word and not word.startswith("-"):
            masked, n = _mask_value(word, mode)
            mode = None
        elif (known := _program(word)) is not None:
            program, mode = known, None
        elif program in _WRAPPERS and word and not word.startswith("-"):
            program, mode = None, None  # the wrapped command starts here
        else:
            mode = _flag_mode(word, program)
            for flag, glued in _GLUED.get(program or "", ()):
                if word.startswith(flag) and len(word) > len(flag):
                    masked, n = _mask_value(word, glued, skip=len(flag))
                    mode = None
                    break
        if n:
            words[i] = raw[:at] + masked + raw[at + len(word):]
            count += n
    return count


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
        for rx in _KEYED_RULES:
            s = self._keyed(rx, s)
        s = _ARGS_LINE.sub(self._args_line, s)
        if self._home is not None and self._home in s:
            self.counts["home_path"] += s.count(self._home)
            s = s.replace(self._home, "~")
        if self._user_rx is not None:
            s, n = self._user_rx.subn("<user>", s)
            self.counts["user_name"] += n
        return s

    def argv(self, args: Sequence[str]) -> list[str]:
        """A scrubbed copy of one command line's arguments (``args[0]`` the program): the
        argument after a secret flag masked (see the module doc), then each through
        :meth:`text` (``--password=x``, ``PGPASSWORD=x``, URLs)."""
        words = list(args)
        self.counts["secret_arg"] += _mask_args(words, whole=True)
        return [self.text(w) for w in words]

    def json(self, value: object) -> object:
        """A scrubbed copy of decoded JSON: values under secret keys masked (references
        ``keyring:``/``env:`` kept, they are names), OTLP ``{"key", "value"}`` attributes
        treated like keys, lists of strings as command lines (:meth:`argv`), an alert
        ``Webhook`` action's ``url`` cut to ``scheme://host:port/***`` (and the whole URL
        and its path removed from every later text), every other string through
        :meth:`text`."""
        return self._walk(value, secret=False, owner=None, hide_path=False)

    def json_text(self, value: object, *, indent: int | None = 2) -> str:
        """:meth:`json` then ``json.dumps`` then :meth:`text` (catches escaped forms)."""
        return self.text(json.dumps(self.json(value), indent=indent, default=str,
                                    ensure_ascii=False))

    def _keyed(self, rx: re.Pattern[str], s: str) -> str:
        out: list[str] = []
        pos = 0
        for m in rx.finditer(s):
            if m.start() < pos or not SECRET_KEY.search(m.group(1)):
                continue
            out += (s[pos:m.end(1)], MASK)
            pos = m.end(2)
            self.counts["secret_key"] += 1
        return "".join(out) + s[pos:] if out else s

    def _args_line(self, m: re.Match[str]) -> str:
        parts = re.split(r"(\s+)", m.group(0))
        words = parts[0::2]
        n = _mask_args(words, whole=False)
        if not n:
            return m.group(0)
        self.counts["secret_arg"] += n
        parts[0::2] = words
        return "".join(parts)

    def _webhook_url(self, url: str) -> str:
        shown = redact_url(url, hide_path=True)
        if shown != url:
            self.counts["webhook_url"] += 1
            rest = m.group(1) if (m := _AFTER_AUTHORITY.fullmatch(url)) else ""
            path = re.split(r"[?#]", rest, maxsplit=1)[0]
            learned = [p for p in (rest, path) if len(p) >= 8]  # the host stays readable
            self.add_secrets(learned or [url])
        return shown

    def _walk(self, value: object, *, secret: bool, owner: str | None,
              hide_path: bool) -> object:
        if isinstance(value, dict):
            attr_key = value.get("key")
            if isinstance(attr_key, str) and "value" in value and SECRET_KEY.search(attr_key):
                return {k: (self._walk(v, secret=True, owner=None, hide_path=False)
                            if k == "value" else v) for k, v in value.items()}
            return {
                str(k): self._walk(v, secret=secret or is_secret_key(str(k)), owner=str(k),
                                   hide_path=hides_url_path(owner, str(k)))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            if not secret and value and all(isinstance(v, str) for v in value):
                return self.argv(value)
            return [self._walk(v, secret=secret, owner=None, hide_path=hide_path)
                    for v in value]
        if isinstance(value, str):
            if not value or value == MASK or is_secret_ref(value):
                return value
            if secret:
                self.counts["secret_key"] += 1
                return MASK
            return self.text(self._webhook_url(value) if hide_path else value)
        return value

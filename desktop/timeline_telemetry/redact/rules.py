"""The patterns: which names are secret, credentials inside URLs, and well-known token
formats (cloud keys, GitHub and Slack tokens, JWTs, PEM private keys).

Every rule is idempotent on its own output (a masked value is never matched again), so text
that went through redaction twice is counted once.
"""

from __future__ import annotations

import re

__all__ = [
    "KEYED_RULES",
    "MASK",
    "SECRET_KEY",
    "SECRET_KEY_WORDS",
    "TOKEN_KINDS",
    "TOKEN_RX",
    "URL_RULES",
    "is_reference",
]

MASK = "***"
#: Alternatives (a regex fragment) found in the names of keys, flags, query parameters and
#: environment variables whose values are secrets.
SECRET_KEY_WORDS = (
    r"password|passwd|passphrase|pwd|token|secret|api[_-]?key|apikey|authorization"
    r"|auth[_-]?header|routing[_-]?key|integration[_-]?key|service[_-]?key|private[_-]?key"
    r"|access[_-]?key|cookie|credential"
)
#: Searched in a key name: a match means the key's values are secret.
SECRET_KEY = re.compile(SECRET_KEY_WORDS, re.IGNORECASE)
# query parameter names that are secret although too short to be key words elsewhere
_QUERY_NAMES = r"key|sig|signature|auth|code"
_STOP = r"&#\s\"'<>"  # where a query value ends in a URL written in text or JSON

#: ``(kind, pattern, replacement)`` masking credentials inside URLs, wherever the URL is
#: (a whole string or a part of a log line). Repetitions are bounded where a long run of
#: name characters could otherwise be scanned again from every position (quadratic time on
#: hostile text).
URL_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("slack_webhook", re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)"
                                 r"[A-Za-z0-9/_-]+"), r"\1" + MASK),
    ("webhook_path", re.compile(r"(discord(?:app)?\.com/api/webhooks/|\.webhook\.office\.com"
                                r"/webhookb2/|outlook\.office\.com/webhook/)[A-Za-z0-9/_@.-]+"),
     r"\1" + MASK),
    ("pagerduty_key", re.compile(r"(events\.pagerduty\.com/[A-Za-z0-9/_.-]*?"
                                 r"(?:integration|enqueue|e|v2)/?)([A-Za-z0-9]{20,})"),
     r"\1" + MASK),
    # (a scheme of at most 32 characters: unbounded, a long run of letters and dashes
    # would be scanned again from every word boundary in it)
    ("url_userinfo", re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31}://)(?!\*\*\*@)[^/\s:@\"'<>]+"
                                r"(?::[^/\s@\"'<>]*)?@"), r"\1" + MASK + "@"),
    ("url_query_token", re.compile(
        r"([?&;#](?:[A-Za-z0-9_.-]{0,64}(?:" + SECRET_KEY_WORDS + r")[A-Za-z0-9_.-]{0,64}|"
        + _QUERY_NAMES + r")=)(?!\*\*\*(?:[" + _STOP + r"]|$))[^" + _STOP + r"]+",
        re.IGNORECASE), r"\1" + MASK),
)

# Well-known credential formats, one alternation (one pass over the text); the group name is
# the kind counted. A prefix that only names the format is kept (``AKIA***``, ``ghp_***``).
_PEM_LABEL = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?"
_TOKENS = (
    # a PEM block, in clear or with JSON-escaped newlines; cut short (no END): the body
    # (the body: base64, whitespace, escaped newlines, legacy "Proc-Type: 4,ENCRYPTED"
    # headers; a "-" only when not the start of "-----": linear, whatever the text)
    ("pem_private_key",
     r"(?P<pem_head>-----BEGIN " + _PEM_LABEL + r"-----)(?!\*\*\*)"
     r"(?:[A-Za-z0-9+/=\s\\:,.]|-(?!----))*(?:-----END " + _PEM_LABEL + r"-----)?"),
    ("aws_access_key", r"(?<![A-Za-z0-9])(?P<aws_head>AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("github_token",
     r"(?<![A-Za-z0-9_])(?P<github_head>gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,255}"
     r"(?![A-Za-z0-9_])"),
    ("slack_token", r"(?<![A-Za-z0-9])(?P<slack_head>xox[abprs]-)[A-Za-z0-9-]{10,}"),
    ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    ("bearer", r"\b(?P<bearer_head>(?i:bearer))\s+(?!\*\*\*)"
               r"[A-Za-z0-9\-._~+/]+=*"),
    ("basic", r"\b(?P<basic_head>(?i:basic))\s+[A-Za-z0-9+/]{6,}=*"),
)
#: The kinds :data:`TOKEN_RX` finds, in the order they are tried.
TOKEN_KINDS: tuple[str, ...] = tuple(kind for kind, _ in _TOKENS)
#: One pattern for every token format; ``m.lastgroup`` is not reliable with the inner
#: ``*_head`` groups, so the outer group of each alternative is named by its kind.
TOKEN_RX = re.compile("|".join(f"(?P<{kind}>{rx})" for kind, rx in _TOKENS), re.DOTALL)

#: ``(name, value)`` pairs: the value (matched by the second pattern where the first ends)
#: is masked when the name in group 1 looks secret (:data:`SECRET_KEY`). Any name is found,
#: then tested (a regex of the key words themselves is slow on big logs); the value is
#: matched only after a secret name, so a long value is never scanned once per name in it.
KEYED_RULES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    # "key": "value" (JSON in text); references and masks are kept
    (re.compile(r'("[A-Za-z0-9_.-]+"\s*:\s*")(?!\*\*\*")(?!(?:keyring|env):[A-Za-z0-9_.-]+")'),
     re.compile(r'(?:[^"\\]|\\.)+(?=")')),
    # key=value, key: value (logs, command lines, environment); not "key": 1 (JSON numbers)
    (re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+\s*[=:]\s*)(?!\*\*\*)"
                r"(?!(?:keyring|env):)"),
     re.compile(r"[^\s\"',;&}\]]+")),
)

_REFERENCE = re.compile(r"(?:keyring|env):[A-Za-z0-9_.-]+")


def is_reference(value: str) -> bool:
    """Whether ``value`` is a ``keyring:NAME`` / ``env:NAME`` secret reference (a name, not
    a secret: kept as it is; the same syntax as ``config.secrets.is_secret_ref``)."""
    return bool(_REFERENCE.fullmatch(value))

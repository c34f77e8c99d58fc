"""Secret arguments on command lines: the argument after a secret-looking flag (``--token
X``, ``-api-key X``, ``--password X``; not ``--token-file PATH`` and the like) and, for the
programs known to take them, short or glued forms: ``mysql -pX``, ``redis-cli -a X``,
``sshpass -p X``, ``curl -u user:X``, openssl's ``-passin pass:X``. A short flag alone
(``-p``) means too many things (a port for ssh and psql) to be treated everywhere.
"""

from __future__ import annotations

import re

from .rules import MASK, SECRET_KEY_WORDS, is_reference

__all__ = ["ARGS_LINE", "mask_args"]

_KEY_WORDS = r"[A-Za-z0-9_.-]*(?:" + SECRET_KEY_WORDS + r")[A-Za-z0-9_.-]*"
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
#: Lines of text with a candidate flag or program: only those are split into words.
ARGS_LINE = re.compile(
    r"^[^\n]*?(?<![^\s\"'(\[/=])(?:--?(?!-)(?!no-)" + _KEY_WORDS + r"|-pass|" + _PROGRAM_WORDS
    + r")[^\n]*", re.IGNORECASE | re.MULTILINE)
_EDGES = "\"'()[]{},;"


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
    if not body or body.startswith(MASK) or is_reference(body):
        return word, 0
    return keep + MASK, 1


def mask_args(words: list[str], *, whole: bool) -> int:
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

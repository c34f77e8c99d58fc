"""Pseudonyms for personal names in text: the user's home and name, other users' homes,
and (as an option) this machine's host name and private IP addresses.

Unlike the secret patterns, a pseudonym keeps text correlatable: within one
:class:`Pseudonymiser` the same name always becomes the same token (``~`` for the user's
home, ``<user-1>`` for the user, ``<user-2>``... for other homes met, ``<host-1>``,
``<ip-1>``...), so a reader can still follow one machine or one address through the lines.

Rules worth knowing:

- home paths: the user's own home (``/home/jdoe``, ``C:\\Users\\jdoe``, also JSON-escaped)
  becomes ``~``; any other ``/home/<name>``, ``/Users/<name>`` or ``\\Users\\<name>`` keeps
  its prefix and gets ``<user-N>`` (shared folders such as ``Public`` are kept);
- the user name elsewhere (a path, a file name, a sentence): replaced on word boundaries,
  ignoring case (``_``, ``-`` and ``.`` count as boundaries, so ``jdoe_notes.txt`` is
  caught), but only when it is at least :data:`MIN_FREE_TEXT_LEN` characters and not a
  generic account (``root``, ``admin``, ``user``...): a two-letter name such as ``ed`` or a
  generic one would shred unrelated words and identifies nobody. A JSON value that *is*
  the name is replaced whatever its length (:meth:`Pseudonymiser.exact`);
- host names (same boundary and length rules, ``localhost`` kept) and private addresses:
  IPv4 RFC 1918 (10/8, 172.16/12, 192.168/16) and link-local (169.254/16), IPv6 unique
  local (fc00::/7) and link-local (fe80::/10); loopback and public addresses are kept.

Not thread-safe: one pseudonymiser per document set (one bundle).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

__all__ = [
    "GENERIC_ACCOUNTS",
    "MIN_FREE_TEXT_LEN",
    "Identity",
    "PseudonymPolicy",
    "Pseudonymiser",
]

#: Names shorter than this are replaced only inside home paths and as whole JSON values.
MIN_FREE_TEXT_LEN = 3
#: Account names that identify nobody; replaced in home paths, kept in free text.
GENERIC_ACCOUNTS = frozenset({
    "root", "admin", "administrator", "user", "users", "guest", "default", "public",
    "shared", "home", "test", "video", "editor", "studio", "localhost",
})
_SHARED_HOMES = frozenset({"shared", "public", "default", "default user", "all users",
                           "administrator", "guest", "root"})

# a path's start (not a URL's path: ``https://site/home/x`` is kept), then the home folder
_HOME_PREFIX = re.compile(r"(?P<pre>(?<![\w.-])(?:/var)?/(?:home|Users)/|\\+Users\\+)"
                          r"(?P<name>[^/\\\s\"'<>:;,|*?]+)")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])[fF][cdeCDE][0-9A-Fa-f]{0,2}:[0-9A-Fa-f:]*[0-9A-Fa-f:]"
                   r"(?:%[\w.-]+)?")
_TOKEN_KIND = {"user": "user_name", "host": "host_name", "ip": "private_ip"}
_PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "fc00::/7", "fe80::/10"))


@dataclass(frozen=True)
class PseudonymPolicy:
    """What to pseudonymise. The defaults are the bundle's, for the CLI and the tray alike:
    home paths and the user name yes (``--no-pseudonymize`` turns it off), host names and
    private IPs no (``--pseudonymize-hosts`` turns it on)."""

    users: bool = True
    hosts: bool = False

    def flags(self) -> list[str]:
        """The command-line flags that give this policy (empty for the defaults)."""
        return ([] if self.users else ["--no-pseudonymize"]) + \
            (["--pseudonymize-hosts"] if self.hosts else [])


@dataclass(frozen=True)
class Identity:
    """The names to look for: the user's account name, home folder and this machine's host
    names (as given by the OS: the short name and the fully qualified one)."""

    user: str | None = None
    home: str | None = None
    hosts: tuple[str, ...] = ()


class Pseudonymiser:
    """Replaces the names of an :class:`Identity` (as the :class:`PseudonymPolicy` asks)
    with stable tokens. ``counts`` (occurrences by kind: ``home_path``, ``user_name``,
    ``host_name``, ``private_ip``) and :meth:`distinct` (how many different names each kind
    had) are for the manifest; the mapping itself is never exposed (it would undo the
    pseudonyms)."""

    def __init__(self, identity: Identity, policy: PseudonymPolicy | None = None) -> None:
        self.policy = policy if policy is not None else PseudonymPolicy()
        self.counts: Counter[str] = Counter()
        self._users: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        self._ips: dict[str, str] = {}
        self._seen: set[str] = set()  # the tokens written so far
        self._home_rx: re.Pattern[str] | None = None
        self._user_rx: re.Pattern[str] | None = None
        self._host_rx: re.Pattern[str] | None = None
        if self.policy.users:
            self._init_users(identity)
        if self.policy.hosts:
            self._init_hosts(identity)

    def _init_users(self, identity: Identity) -> None:
        home = (identity.home or "").rstrip("/\\")
        parts = re.split(r"[/\\]", home)
        # the home folder's own name is a name too (/home/jane.doe for user jdoe), but only
        # under a folder of homes: HOME=/data must not make "data" a user name
        folder = parts[-1] if len(parts) > 1 and parts[-2].casefold() in ("home", "users") \
            else None
        names = [n for n in (identity.user, folder) if n]
        for n in names:
            self._users.setdefault(n.casefold(), "<user-1>")
        if len(home) > 1:
            forms = sorted({home, home.replace("\\", "\\\\")}, key=len, reverse=True)
            self._home_rx = re.compile(
                "(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\w.-])")
        words = {n for n in names
                 if len(n) >= MIN_FREE_TEXT_LEN and n.casefold() not in GENERIC_ACCOUNTS}
        if words:
            self._user_rx = _words_rx(words)

    def _init_hosts(self, identity: Identity) -> None:
        names = set()
        for h in identity.hosts:
            for n in (h, h.split(".", 1)[0]):
                if n and n.casefold() != "localhost":
                    names.add(n)
                    self._hosts.setdefault(n.casefold(), "<host-1>")
        words = {n for n in names if len(n) >= MIN_FREE_TEXT_LEN}
        if words:
            self._host_rx = _words_rx(words)

    def text(self, s: str) -> str:
        """``s`` with the names replaced by their tokens."""
        if self.policy.users:
            if self._home_rx is not None:
                s, n = self._home_rx.subn("~", s)
                if n:
                    self.counts["home_path"] += n
                    self._seen.add("<user-1>")
            s = _HOME_PREFIX.sub(self._other_home, s)
            if self._user_rx is not None:
                s = self._user_rx.sub(lambda m: self._count("user_name", "<user-1>"), s)
        if self.policy.hosts:
            if self._host_rx is not None:
                s = self._host_rx.sub(lambda m: self._count("host_name", "<host-1>"), s)
            if any(c.isdigit() for c in s):
                s = _IPV4.sub(self._ip, s)
            if ":" in s:
                s = _IPV6.sub(self._ip, s)
        return s

    def exact(self, value: str) -> str | None:
        """The token for a whole value that *is* a known user or host name (whatever its
        length: ``{"user": "ed"}``), else ``None``."""
        key = value.casefold()
        if self.policy.users and key in self._users:
            return self._count("user_name", self._users[key])
        if self.policy.hosts and key in self._hosts:
            return self._count("host_name", self._hosts[key])
        return None

    def distinct(self) -> dict[str, int]:
        """How many different users (home paths included), hosts and addresses were
        replaced, by kind (``user_name``, ``host_name``, ``private_ip``)."""
        out: Counter[str] = Counter()
        for token in self._seen:
            out[_TOKEN_KIND[token[1:token.index("-")]]] += 1
        return dict(sorted(out.items()))

    def _count(self, kind: str, token: str) -> str:
        self.counts[kind] += 1
        self._seen.add(token)
        return token

    def _other_home(self, m: re.Match[str]) -> str:
        key = m.group("name").casefold()
        token = self._users.get(key)
        if token is None and key in _SHARED_HOMES:  # unless it is this user's
            return m.group(0)
        if token is None:
            token = self._users[key] = f"<user-{len(set(self._users.values())) + 1}>"
        self.counts["home_path"] += 1
        self._seen.add(token)
        return m.group("pre") + token

    def _ip(self, m: re.Match[str]) -> str:
        text = m.group(0)
        try:
            addr = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return text
        if not any(addr.version == net.version and addr in net for net in _PRIVATE_NETS):
            return text
        key = str(addr)
        token = self._ips.get(key)
        if token is None:
            token = self._ips[key] = f"<ip-{len(self._ips) + 1}>"
        return self._count("private_ip", token)


def _words_rx(words: set[str]) -> re.Pattern[str]:
    """Any of ``words`` on word boundaries (``_``, ``-``, ``.`` are boundaries), ignoring
    case, never inside a token already written (``<user-1>``)."""
    alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![^\W_])(?<!<)(?:" + alt + r")(?![^\W_])(?!-\d+>)", re.IGNORECASE)


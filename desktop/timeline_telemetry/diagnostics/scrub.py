"""Scrubbing, in one place: every byte that goes into a diagnostics bundle passes here.

The patterns are :func:`timeline_telemetry.redact.redact_text`'s (the same the Console trace
exporter, the receiver's stored log records and the agent's log apply); this module adds what
only a bundle knows: the literal secret values of this config, home and user names, and the
walk through decoded JSON. What is removed (each kind is counted for the manifest):

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
- well-known token formats: ``aws_access_key`` (``AKIA``/``ASIA`` + 16), ``github_token``
  (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``), ``slack_token``
  (``xoxb-``...), ``jwt`` (``eyJ...``, three base64url parts), ``pem_private_key``
  (``-----BEGIN ... PRIVATE KEY-----`` through its END line);
- URLs (:data:`~timeline_telemetry.redact.URL_RULES`, shared with ``config show``):
  ``url_userinfo`` ``scheme://user:pass@host``, ``url_query_token`` ``?token=...``,
  ``slack_webhook`` and ``webhook_path`` (Slack, Discord, Teams webhook paths),
  ``pagerduty_key``; ``webhook_url``: an alert ``Webhook`` action's URL keeps only
  ``scheme://host:port/***``;

Personal names are not secrets and get stable pseudonyms instead (counted apart, in
:attr:`Scrubber.pseudonyms`: see :mod:`timeline_telemetry.redact.pseudonym`): by default the
user's home (``~``), other homes and the user name (``<user-N>``); as an option this machine's
host name (``<host-1>``) and private IPs (``<ip-N>``).
"""

from __future__ import annotations

import getpass
import json
import re
import socket
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from timeline_telemetry.config.render import hides_url_path, is_secret_key, redact_url
from timeline_telemetry.config.secrets import is_secret_ref
from timeline_telemetry.redact import (
    MASK,
    SECRET_KEY,
    Identity,
    Pseudonymiser,
    PseudonymPolicy,
    mask_args,
    redact_text,
)
from timeline_telemetry.redact.pseudonym import MIN_FREE_TEXT_LEN

__all__ = ["MASK", "SECRET_KEY", "Scrubber", "machine_identity", "not_redacted"]

_AFTER_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*(.*)", re.DOTALL)


class Scrubber:
    r"""Removes secrets from text and decoded JSON, counting what it removed by kind.

    ``secrets`` are literal values to remove wherever they appear (also in their JSON-escaped
    form); values shorter than 4 characters are ignored (they would shred the text).
    ``pseudonyms``, when given, replaces personal names after the secrets are masked (its
    counts are its own: :attr:`pseudonyms`\ ``.counts``, not :attr:`counts`).
    Not thread-safe (one bundle at a time uses one scrubber).
    """

    def __init__(
        self, *, secrets: Iterable[str] = (), pseudonyms: Pseudonymiser | None = None
    ) -> None:
        self.counts: Counter[str] = Counter()
        self.pseudonyms = pseudonyms
        self._values: set[str] = set()
        self._value_rx: re.Pattern[str] | None = None
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
        """``s`` with every known secret value and credential pattern masked, then the
        personal names pseudonymised."""
        if self._value_rx is not None:
            s, n = self._value_rx.subn(MASK, s)
            self.counts["secret_value"] += n
        s = redact_text(s, self.counts)
        return self.pseudonyms.text(s) if self.pseudonyms is not None else s

    def pseudonym_report(self) -> dict[str, object]:
        """The manifest's ``pseudonymised`` section: the flags that chose the policy, the
        count of replacements and of different names per kind, and what stays readable.
        Never the names themselves."""
        p = self.pseudonyms
        policy = p.policy if p is not None else PseudonymPolicy(users=False)
        return {
            "home_paths_and_user_name": policy.users,
            "host_names_and_private_ips": policy.hosts,
            "flags": policy.flags(),
            "counts": dict(sorted(p.counts.items())) if p is not None else {},
            "distinct": p.distinct() if p is not None else {},
            "not_redacted": not_redacted(policy),
        }

    def argv(self, args: Sequence[str]) -> list[str]:
        """A scrubbed copy of one command line's arguments (``args[0]`` the program): the
        argument after a secret flag masked (see the module doc), then each through
        :meth:`text` (``--password=x``, ``PGPASSWORD=x``, URLs)."""
        words = list(args)
        self.counts["secret_arg"] += mask_args(words, whole=True)
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
            if self.pseudonyms is not None and (token := self.pseudonyms.exact(value)):
                return token
            return self.text(self._webhook_url(value) if hide_path else value)
        return value


def machine_identity(environ: Mapping[str, str]) -> Identity:
    """This session's user name (``LOGNAME``/``USER``/``LNAME``/``USERNAME`` in ``environ``
    as ``getpass`` reads them, else the password database), home folder (``HOME``, else the
    OS's idea of it) and host name (as the OS reports it; no DNS lookup)."""
    user = next((environ[k] for k in ("LOGNAME", "USER", "LNAME", "USERNAME")
                 if environ.get(k)), None)
    if user is None:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = None
    home = environ.get("HOME") or environ.get("USERPROFILE")
    if not home:
        try:
            home = str(Path.home())
        except RuntimeError:
            home = None
    host = socket.gethostname()
    return Identity(user=user, home=home, hosts=tuple(h for h in (host,) if h))


def not_redacted(policy: PseudonymPolicy) -> list[str]:
    """What a bundle built under ``policy`` still shows, said plainly for the manifest."""
    kept = [
        "file and folder names are kept (e.g. ~/Videos/client_wedding.tlp): they identify "
        "clips and projects, not the user; a client's name in a project file name stays",
        "free text in the editor's log, span attributes and received log records may contain "
        "people's names (clients, colleagues, the user's real name): only account names are "
        "replaced",
        "hardware identifiers (GPU UUIDs, disk and display models) are kept",
    ]
    if policy.users:
        kept.append(f"the user name is replaced in free text only when it is at least "
                    f"{MIN_FREE_TEXT_LEN} characters and not a generic account (root, admin, "
                    "user...); inside home paths and as a whole value it is always replaced; "
                    "other users' names are replaced inside their home paths only")
    else:
        kept.append("home paths and the user name are kept (--no-pseudonymize)")
    if policy.hosts:
        kept.append("public IP addresses, loopback and other machines' host names "
                    "(exporter endpoints, URLs) are kept: they say where data was sent")
    else:
        kept.append("the host name and private IP addresses are kept "
                    "(--pseudonymize-hosts replaces them)")
    return kept

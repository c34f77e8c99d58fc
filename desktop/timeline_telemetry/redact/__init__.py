"""Redaction of secrets in free text and key/value attributes, shared by every place that
shows or stores text it did not write itself: the diagnostics bundle's scrubber, the Console
trace exporter, the receiver's stored log records, the agent's own log file and ``config
show`` (its key names and URL rules).

A bottom-layer package (the standard library only), so that tracing, ingest and logging can
use it as well as diagnostics. :func:`redact_text` is the one function; :func:`redact_attribute`
adds the key-name rule for a ``key=value`` pair. :class:`Pseudonymiser` replaces personal names
(home paths, the user name, host names, private IPs) with stable tokens.
"""

from __future__ import annotations

from .argv import mask_args
from .pseudonym import Identity, Pseudonymiser, PseudonymPolicy
from .rules import MASK, SECRET_KEY, SECRET_KEY_WORDS, TOKEN_KINDS, URL_RULES
from .text import redact_attribute, redact_text

__all__ = [
    "MASK",
    "SECRET_KEY",
    "SECRET_KEY_WORDS",
    "TOKEN_KINDS",
    "URL_RULES",
    "Identity",
    "PseudonymPolicy",
    "Pseudonymiser",
    "mask_args",
    "redact_attribute",
    "redact_text",
]

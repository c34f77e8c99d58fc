"""URL helpers for messages, logs and statuses."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["loopback_url", "redact_url"]


def redact_url(url: str) -> str:
    """``url`` as ``scheme://host:port/path``: no user info, query or fragment (any of them
    may hold a credential), the host and port kept as written.

    For showing an endpoint in a message. ``config.render.redact_url`` is the other rule: it
    keeps the URL whole and masks only what looks secret (``config show``, the bundle)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def loopback_url(url: str) -> str:
    """``url`` with a wildcard listen address (``0.0.0.0``, ``[::]``) replaced by loopback:
    an agent configured to listen everywhere is reached on this machine over loopback."""
    return url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")

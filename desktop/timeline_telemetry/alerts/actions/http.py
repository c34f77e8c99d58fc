"""One JSON POST with the error classification the retry queue needs."""

from __future__ import annotations

import json
from collections.abc import Mapping

from timeline_telemetry.config.render import redact_url
from timeline_telemetry.delivery import DeliveryError

__all__ = ["post_json"]

_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


def post_json(
    url: str, body: object, *, timeout_s: float, headers: Mapping[str, str] | None = None,
    hide_path: bool = False,
) -> bytes:
    """POST ``body`` as JSON; raises :class:`DeliveryError` (retryable for 429/5xx and
    connection problems). Messages never include the URL's user info or secret query values,
    nor its path with ``hide_path`` (a webhook's path is often its token)."""
    import urllib.error  # with http.client and ssl, ~5 MB: only once an action sends
    import urllib.request

    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    where = redact_url(url, hide_path=hide_path)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        ra = exc.headers.get("Retry-After") if exc.headers else None
        raise DeliveryError(
            f"{where}: HTTP {exc.code}", retryable=exc.code in _RETRYABLE,
            retry_after_s=float(ra) if ra and ra.isdigit() else None,
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{where}: {reason}", retryable=True) from None

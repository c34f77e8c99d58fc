"""Email action over SMTP: plain, STARTTLS or implicit TLS; password as a ``keyring:``
reference resolved at each send. The design document's ``recipients`` and ``subject``.

Each mail has ``Date`` and ``Message-ID`` (RFC 5322), a plain-text and an HTML part
(``multipart/alternative``, the HTML escaped) and one subject prefix (``[RESOLVED]`` on a
resolve, none on a firing). Mails about one alert group (``group_by``, default
``["alertname"]``) form a thread: the first firing mail of an episode has the Message-ID
``<GROUPHASH.START.firing@DOMAIN>`` (derived from the group key and the episode's start), and
every later mail of the group (more firing, the resolve) names it in ``In-Reply-To`` and
``References``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from timeline_telemetry.delivery import DeliveryError

from .base import AlertItem, Notification, SecretResolver
from .grouping import DEFAULT_GROUP_BY, AlertGroup, GroupTracker

if TYPE_CHECKING:  # smtplib, ssl and email cost ~5 MB: imported when a mail is sent
    import smtplib
    import ssl
    from email.message import EmailMessage

__all__ = ["MAX_LISTED", "EmailSender", "thread_root"]

#: Alerts listed in one mail; the rest are counted.
MAX_LISTED = 50
_PREFIX = "[RESOLVED] "


def thread_root(g: AlertGroup, domain: str) -> str:
    """The Message-ID of the mail that opened ``g``'s episode (the thread's root)."""
    return f"<{g.hash[:32]}.{int(g.started_at)}.firing@{domain}>"


def _subject(n: Notification, configured: str) -> str:
    base = configured or n.title
    if n.status == "resolved":
        # The notification's title may say so already ("Resolved: ...", "3 alerts
        # resolved: ..."); the mail says it once, in the prefix.
        base = configured or n.title.removeprefix("Resolved: ").replace(
            " alerts resolved: ", " alerts: ", 1)
        return _PREFIX + base
    return base


def _line(a: AlertItem) -> str:
    return f"- {a.status}: " + ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))


class EmailSender:
    """Sends one mail per notification. ``security``: ``"starttls"``, ``"tls"`` or
    ``"none"`` (only for a local relay); ``ssl_context`` lets tests trust their own CA;
    ``msgid_domain`` (default: the sender address's domain) ends every Message-ID."""

    def __init__(
        self, *, host: str, port: int, sender: str, recipients: Sequence[str], subject: str,
        resolve: SecretResolver, username: str = "", password: str = "",
        security: str = "starttls", ssl_context: ssl.SSLContext | None = None,
        name: str = "email", group_by: Sequence[str] | None = None, msgid_domain: str = "",
    ) -> None:
        self.name = name
        self._host, self._port = host, port
        self._from = sender
        self._to = list(recipients)
        self._subject = subject
        self._resolve = resolve
        self._user, self._password = username, password
        self._security = security
        self._ctx = ssl_context
        self._domain = msgid_domain or sender.rpartition("@")[2] or "timeline-telemetry"
        self._groups = GroupTracker(DEFAULT_GROUP_BY if group_by is None else group_by)
        # A retry sends the very same mail (same Message-ID, same thread headers).
        self._last: tuple[Notification, EmailMessage] | None = None

    def open(self) -> None:
        """Nothing to prepare (connections are per send)."""

    def _message(self, n: Notification) -> EmailMessage:
        if self._last is not None and self._last[0] is n:
            return self._last[1]
        import html
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        groups = self._groups.update(n.alerts)
        msg = EmailMessage()
        msg["Subject"] = _subject(n, self._subject)
        msg["From"] = self._from
        msg["To"] = ", ".join(self._to)
        msg["Date"] = formatdate(localtime=True)
        if len(groups) == 1:  # a thread per group; a mail spanning groups starts none
            g = groups[0]
            root = thread_root(g, self._domain)
            if g.opened:
                msg["Message-ID"] = root
            else:
                msg["Message-ID"] = make_msgid(g.hash[:12], domain=self._domain)
                msg["In-Reply-To"] = root
                msg["References"] = root
        else:
            msg["Message-ID"] = make_msgid(domain=self._domain)
        shown, hidden = n.alerts[:MAX_LISTED], max(0, len(n.alerts) - MAX_LISTED)
        more = f"... and {hidden} more" if hidden else ""
        lines = [n.title, "", n.body, "", *(_line(a) for a in shown), more]
        msg.set_content("\n".join(lines).rstrip() + "\n")
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(a.status)}</td><td>"
            + "<br>".join(esc(f"{k}={v}") for k, v in sorted(a.labels.items()))
            + f"</td><td>{esc(a.annotations.get('summary', ''))}</td></tr>"
            for a in shown)
        msg.add_alternative(
            "<!DOCTYPE html><html><body>"
            f"<h2>{esc(n.title)}</h2><p>{esc(n.body)}</p>"
            "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
            "<tr><th>status</th><th>labels</th><th>summary</th></tr>"
            f"{rows}</table>" + (f"<p>{esc(more)}</p>" if more else "")
            + "</body></html>\n", subtype="html")
        self._last = (n, msg)
        return msg

    def send(self, n: Notification, *, timeout_s: float) -> None:
        """Connect, secure, log in if configured, send."""
        import smtplib
        import ssl

        ctx = self._ctx or ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self._security == "tls":
                smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=timeout_s, context=ctx)
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=timeout_s)
            with smtp:
                if self._security == "starttls":
                    smtp.starttls(context=ctx)
                if self._user:
                    self._login(smtp)
                smtp.send_message(self._message(n))
        except smtplib.SMTPAuthenticationError as exc:
            # 454 (and any 4xx) is the server's temporary failure; 535 and the rest mean
            # the credentials are wrong, and retrying would only lock the account.
            raise DeliveryError(
                f"smtp {self._host}:{self._port}: authentication failed for user "
                f"{self._user!r} (SMTP {exc.smtp_code}; the server's reply is not shown: "
                f"it could echo the credentials)",
                retryable=400 <= exc.smtp_code < 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                f"smtp {self._host}:{self._port}: the server offers no AUTH for user "
                f"{self._user!r} (many servers offer it only after STARTTLS: check "
                f"security, now {self._security!r})", retryable=False) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"smtp {self._host}: recipients refused",
                                retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp {self._host}:{self._port}: {type(exc).__name__}: {exc}",
                                retryable=True) from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        import smtplib

        # PLAIN when offered (always inside TLS here): one round trip, and no fallback to
        # other mechanisms after a refusal (a wrong password fails fast, not by timeout).
        smtp.ehlo_or_helo_if_needed()
        smtp.user, smtp.password = self._user, self._resolve(self._password)
        if "plain" in smtp.esmtp_features.get("auth", "").lower().split():
            code, resp = smtp.auth("PLAIN", smtp.auth_plain)
        else:
            code, resp = smtp.login(self._user, smtp.password)
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, resp)

    def close(self) -> None:
        """Nothing to release."""

    def describe(self) -> str:
        """No secrets."""
        return (f"email via {self._host}:{self._port} ({self._security}) "
                f"to {len(self._to)} recipient(s)")

"""Email action over SMTP: plain, STARTTLS or implicit TLS; password as a ``keyring:``
reference resolved at each send. The design document's ``recipients`` and ``subject``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from timeline_telemetry.delivery import DeliveryError

from .base import Notification, SecretResolver

if TYPE_CHECKING:  # smtplib, ssl and email cost ~5 MB: imported when a mail is sent
    import smtplib
    import ssl
    from email.message import EmailMessage

__all__ = ["EmailSender"]


class EmailSender:
    """Sends one mail per notification. ``security``: ``"starttls"``, ``"tls"`` or
    ``"none"`` (only for a local relay); ``ssl_context`` lets tests trust their own CA."""

    def __init__(
        self, *, host: str, port: int, sender: str, recipients: Sequence[str], subject: str,
        resolve: SecretResolver, username: str = "", password: str = "",
        security: str = "starttls", ssl_context: ssl.SSLContext | None = None,
        name: str = "email",
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

    def open(self) -> None:
        """Nothing to prepare (connections are per send)."""

    def _message(self, n: Notification) -> EmailMessage:
        from email.message import EmailMessage

        msg = EmailMessage()
        prefix = "[RESOLVED] " if n.status == "resolved" else ""
        msg["Subject"] = prefix + (self._subject or n.title)
        msg["From"] = self._from
        msg["To"] = ", ".join(self._to)
        lines = [n.title, "", n.body, ""]
        for a in n.alerts:
            lines.append(f"- {a.status}: " + ", ".join(f"{k}={v}" for k, v in
                                                        sorted(a.labels.items())))
        msg.set_content("\n".join(lines))
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
            raise DeliveryError(f"smtp {self._host}: authentication failed ({exc.smtp_code})",
                                retryable=False) from None
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

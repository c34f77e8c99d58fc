"""Alert mail against a real aiosmtpd: RFC 5322 headers (Date, Message-ID), a plain-text
and an escaped HTML part, one subject prefix, the resolve threaded under the firing, and a
wrong password refused by a server with AUTH (a clear error, no retry, no password shown)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from support import free_port
from timeline_telemetry.alerts import MemorySource, build_alert_manager
from timeline_telemetry.alerts.actions import ActionQueue, AlertItem, EmailSender
from timeline_telemetry.alerts.notify import StormSettings, build_notifications
from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.delivery import RetryPolicy
from timeline_telemetry.export.base import ExportState
from timeline_telemetry.metrics import Metrics

FAST = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.0)


class _Mailbox:
    """An aiosmtpd handler keeping every message, and every AUTH attempt."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.auth_attempts = 0
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.cond:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.cond.notify_all()
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        with self.cond:
            self.auth_attempts += 1
        # handled=False: aiosmtpd answers the failure itself (535); the default (True)
        # means "already answered" and leaves the client waiting.
        return AuthResult(success=data.login == b"monitor" and data.password == b"s3cret",
                          handled=False)

    def wait(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.messages) >= n, timeout), (
                f"got {len(self.messages)} of {n} mails")
            return list(self.messages)


def _server(auth: bool) -> Iterator[tuple[_Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = _Mailbox()
    port = free_port()
    # AUTH offered without TLS (a test-only relay); ``auth_required`` is left off because
    # aiosmtpd warns about it without TLS, and the sender logs in whenever it has a user.
    kw: dict[str, Any] = {"authenticator": box.authenticate,
                          "auth_require_tls": False} if auth else {}
    ctl = Controller(box, hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


@pytest.fixture
def relay() -> Iterator[tuple[_Mailbox, int]]:
    """A plain local relay (aiosmtpd on 127.0.0.1, no TLS, no AUTH)."""
    yield from _server(auth=False)


@pytest.fixture
def auth_relay() -> Iterator[tuple[_Mailbox, int]]:
    """aiosmtpd requiring AUTH (offered without TLS: ``auth_require_tls=False``)."""
    yield from _server(auth=True)


RULES = """\
groups:
  - name: cpu
    rules:
      - alert: HighCPUUsage
        expr: cpu_percent > 90
        labels: {severity: warning}
        annotations:
          summary: "High CPU on {{ $labels.host }}"
          description: "<b>{{ $labels.host }}</b> & friends at {{ $value }}%"
"""


def _cpu(src: MemorySource, t_s: int, hot: set[str]) -> None:
    for host in ("ws<1>", "ws2"):
        src.add("cpu_percent", (("host", host),), t_s * 1000, 95.0 if host in hot else 5.0)


def _parts(msg: EmailMessage) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def test_alert_mail_headers_parts_prefix_and_thread(
    tmp_path: Path, relay: tuple[_Mailbox, int],
) -> None:
    """The issue's row: firing and resolved mail through a built manager to aiosmtpd."""
    box, port = relay
    (tmp_path / "cpu.yml").write_text(RULES)
    data = {"telemetry": {"alerts": {
        "rule_files": ["cpu.yml"], "desktop_notifications": False,
        "actions": [{"Email": {"host": "127.0.0.1", "port": port, "security": "none",
                               "sender": "monitor@studio.test",
                               "recipients": ["admin@timeline-studio.com"]}}]}}}
    cfg = parse_config(data, source="t", base_dir=tmp_path).alerts
    src = MemorySource()
    _cpu(src, 0, {"ws<1>"})
    _cpu(src, 60, {"ws<1>", "ws2"})
    _cpu(src, 120, set())
    m = build_alert_manager(cfg, metrics=Metrics(), source=src, data_dir=tmp_path)
    m.start()
    try:
        m.evaluate(0.0)
        box.wait(1)
        m.evaluate(60.0)
        box.wait(2)
        m.evaluate(120.0)
        first, second, *resolved = box.wait(4)
    finally:
        m.stop()
    assert len(resolved) == 2  # one mail per alert below the storm threshold

    for msg in (first, second, *resolved):
        assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
        mid = msg["Message-ID"].strip()  # a long header may be folded
        assert mid.startswith("<") and mid.endswith("@studio.test>")
    assert len({msg["Message-ID"].strip() for msg in (first, second, *resolved)}) == 4

    assert first["Subject"] == "High CPU on ws<1>"
    assert all(r["Subject"].startswith("[RESOLVED] High CPU on ") for r in resolved)
    assert not any("Resolved" in r["Subject"] for r in resolved)  # one prefix

    # The first firing mail opens the thread; later mails of the group answer it.
    root = first["Message-ID"].strip()
    assert root.endswith(".firing@studio.test>")
    assert first["In-Reply-To"] is None and first["References"] is None
    for msg in (second, *resolved):
        assert msg["In-Reply-To"].strip() == root and msg["References"].strip() == root

    text, html = _parts(first)
    assert "host=ws<1>" in text and "<b>ws<1></b> & friends" in text
    assert "&lt;b&gt;ws&lt;1&gt;&lt;/b&gt; &amp; friends" in html
    assert "<b>ws<1>" not in html and "host=ws&lt;1&gt;" in html
    rtext, rhtml = _parts(resolved[0])
    assert "resolved" in rtext and "resolved" in rhtml


def _note(status: str, hosts: list[str], start: float = 1.7e9) -> Any:
    items = [AlertItem({"alertname": "HighCPUUsage", "host": h}, {"summary": "hot"},
                       status, start, None if status == "firing" else start + 60)
             for h in hosts]
    (n,) = build_notifications([("HighCPUUsage", a) for a in items],
                               StormSettings(per_rule=1))
    return n


def test_a_storm_mail_has_one_prefix_and_a_new_episode_a_new_thread(
    relay: tuple[_Mailbox, int],
) -> None:
    box, port = relay
    sender = EmailSender(host="127.0.0.1", port=port, sender="m@studio.test",
                         recipients=["a@studio.test"], subject="", resolve=str,
                         security="none")
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    for n in (_note("firing", ["a", "b"]), _note("resolved", ["a", "b"]),
              _note("firing", ["a", "b"], start=1.7e9 + 600)):
        assert q.submit(n)
    assert q.flush(10)
    q.shutdown()
    fired, resolved, again = box.wait(3)
    assert fired["Subject"] == "2 alerts firing: HighCPUUsage"
    assert resolved["Subject"] == "[RESOLVED] 2 alerts: HighCPUUsage"
    assert resolved["References"].strip() == fired["Message-ID"].strip()
    # The group fires again later: a new episode, a new thread.
    assert again["In-Reply-To"] is None and again["Message-ID"] != fired["Message-ID"]
    assert again["Message-ID"].strip().endswith(".firing@studio.test>")


def test_wrong_password_is_a_clear_final_error_without_the_password(
    auth_relay: tuple[_Mailbox, int], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    box, port = auth_relay
    secrets = {"env:SMTP_PW": "wr0ng-Pa55"}
    sender = EmailSender(host="127.0.0.1", port=port, sender="m@studio.test",
                         recipients=["a@studio.test"], subject="", resolve=secrets.__getitem__,
                         username="monitor", password="env:SMTP_PW", security="none")
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    assert q.submit(_note("firing", ["a"]))
    q.flush(10)
    status = q.status()
    q.shutdown()
    shown = f"{status} {sender.describe()} {caplog.text}"
    assert status.state is not ExportState.HEALTHY
    assert f"smtp 127.0.0.1:{port}: authentication failed for user 'monitor'" in str(status)
    assert "535" in str(status)
    assert "wr0ng-Pa55" not in shown and "SMTP_PW" not in str(status)
    assert box.auth_attempts == 1  # not retried: a wrong password stays wrong
    assert box.messages == []


def test_right_password_is_accepted_by_the_same_server(
    auth_relay: tuple[_Mailbox, int],
) -> None:
    box, port = auth_relay
    sender = EmailSender(host="127.0.0.1", port=port, sender="m@studio.test",
                         recipients=["a@studio.test"], subject="", resolve=lambda _: "s3cret",
                         username="monitor", password="env:SMTP_PW", security="none")
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    assert q.submit(_note("firing", ["a"])) and q.flush(10)
    assert q.status().state is ExportState.HEALTHY
    q.shutdown()
    assert box.wait(1)[0]["Subject"] == "hot"

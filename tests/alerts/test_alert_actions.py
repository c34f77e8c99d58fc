"""Actions against real peers: local HTTP servers (webhook, PagerDuty), aiosmtpd (email,
plain and STARTTLS), and a real ``prometheus-alertmanager`` read back with ``amtool``."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alerts_helpers import AM, Capture, running_alertmanager

from support import free_port, self_signed_cert, wait_for
from timeline_telemetry.alerts.actions import (
    ActionQueue,
    AlertItem,
    AlertmanagerSender,
    EmailSender,
    LoggingNotifier,
    Notification,
    NotifierSender,
    PagerDutySender,
    WebhookSender,
)
from timeline_telemetry.delivery import RetryPolicy
from timeline_telemetry.metrics import Metrics

FAST = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.0)


def _secrets(value: str) -> str:
    return {"keyring:pd": "ROUTING-KEY-123", "keyring:smtp": "s3cret"}.get(value, value)


def _note(status: str = "firing", n: int = 1) -> Notification:
    items = tuple(
        AlertItem({"alertname": "HighCPUUsage", "severity": "warning", "host": f"ws{i}"},
                  {"summary": "High CPU usage detected", "description": "CPU usage is 95%"},
                  status, 1_700_000_000.0, None if status == "firing" else 1_700_000_600.0)
        for i in range(n))
    return Notification("HighCPUUsage/x", "High CPU usage detected", "CPU usage is 95%",
                        "warning", status, items, "HighCPUUsage")


def _run(sender: Any, *notes: Notification) -> ActionQueue:
    q = ActionQueue(sender, metrics=Metrics(), policy=FAST, timeout_s=5)
    q.start()
    for n in notes:
        assert q.submit(n)
    assert q.flush(10)
    return q


def test_webhook_slack_payload(capture_server: Capture) -> None:
    payload = {"text": "Video processing performance degraded", "channel": "#alerts"}
    q = _run(WebhookSender(capture_server.url + "/hook", resolve=_secrets, payload=payload),
             _note())
    assert capture_server.wait(1) == [payload]
    assert "Healthy" in str(q.status())
    q.shutdown()


def test_webhook_generic_body_and_retry_after_503(capture_server: Capture) -> None:
    capture_server.statuses = [503, 503]
    q = _run(WebhookSender(capture_server.url, resolve=_secrets, body_format="generic"),
             _note())
    (body,) = capture_server.wait(1)
    assert body["status"] == "firing"
    assert body["alerts"][0]["labels"]["host"] == "ws0"
    assert body["alerts"][0]["startsAt"] == "2023-11-14T22:13:20.000Z"
    assert q.errors == 2 and "Healthy" in str(q.status())
    q.shutdown()


def test_webhook_failure_is_visible_and_does_not_block(capture_server: Capture) -> None:
    capture_server.statuses = [400]
    q = _run(WebhookSender(capture_server.url, resolve=_secrets), _note())
    assert "Failed" in str(q.status()) and "HTTP 400" in str(q.status())
    q.shutdown()


def test_a_failing_webhook_never_shows_its_path_token(
    capture_server: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack/Discord-style webhook URLs carry their secret in the path: status, log lines and
    describe() show only scheme, host and port."""
    capture_server.statuses = [400]
    token = "T0AAA/B0BBB/XOXOSECRETTOKEN"
    sender = WebhookSender(f"{capture_server.url}/services/{token}", resolve=_secrets)
    with caplog.at_level(logging.DEBUG):
        q = _run(sender, _note())
    shown = f"{q.status()} {sender.describe()} {caplog.text}"
    assert "HTTP 400" in str(q.status())
    assert "XOXOSECRETTOKEN" not in shown and "services" not in shown
    assert capture_server.url.split("//")[1] in shown  # where it goes is still visible
    q.shutdown()


def test_pagerduty_trigger_then_resolve_with_a_stable_dedup_key(capture_server: Capture) -> None:
    sender = PagerDutySender("keyring:pd", resolve=_secrets,
                             url=capture_server.url + "/v2/enqueue")
    q = _run(sender, _note("firing"), _note("resolved"))
    trig, res = capture_server.wait(2)
    assert trig["routing_key"] == "ROUTING-KEY-123" and trig["event_action"] == "trigger"
    assert trig["payload"]["severity"] == "warning"
    assert trig["payload"]["summary"] == "[FIRING:1] HighCPUUsage: High CPU usage detected"
    assert res["event_action"] == "resolve" and res["dedup_key"] == trig["dedup_key"]
    assert "ROUTING-KEY" not in sender.describe()
    q.shutdown()


def test_desktop_notifier_headless_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
    q = _run(NotifierSender(LoggingNotifier()), _note())
    assert "ALERT [warning] High CPU usage detected: CPU usage is 95%" in caplog.text
    q.shutdown()


# -- email --------------------------------------------------------------------------------
class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.cond:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
            self.cond.notify_all()
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[_Mailbox, int, ssl.SSLContext]]:
    from aiosmtpd.controller import Controller

    cp, kp = self_signed_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cp, kp)
    client_ctx = ssl.create_default_context(cafile=str(cp))
    box = _Mailbox()

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        ok = data.login == b"monitor" and data.password == b"s3cret"
        return AuthResult(success=ok)

    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=server_ctx,
                     require_starttls=True, authenticator=auth, auth_require_tls=True)
    ctl.start()
    try:
        yield box, port, client_ctx
    finally:
        ctl.stop()


def test_email_over_starttls_with_keyring_password(
    smtp: tuple[_Mailbox, int, ssl.SSLContext],
) -> None:
    box, port, ctx = smtp
    sender = EmailSender(host="127.0.0.1", port=port, sender="monitor@studio.test",
                         recipients=["admin@timeline-studio.com"],
                         subject="Performance Alert: Slow Video Processing",
                         resolve=_secrets, username="monitor", password="keyring:smtp",
                         security="starttls", ssl_context=ctx)
    q = _run(sender, _note())
    with box.cond:
        assert box.cond.wait_for(lambda: box.messages, 10)
    mail_from, rcpt, content = box.messages[0]
    assert mail_from == "monitor@studio.test" and rcpt == ["admin@timeline-studio.com"]
    text = content.decode()
    assert "Subject: Performance Alert: Slow Video Processing" in text
    assert "host=ws0" in text and "s3cret" not in text
    q.shutdown()


# -- Alertmanager -------------------------------------------------------------------------
AMTOOL = shutil.which("amtool")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    if AM is None or AMTOOL is None:
        pytest.skip("prometheus-alertmanager/amtool not installed")
    with running_alertmanager(tmp_path) as url:
        yield url


def _amtool(url: str, *args: str) -> list[dict[str, Any]]:
    assert AMTOOL is not None
    res = subprocess.run([AMTOOL, f"--alertmanager.url={url}", "-o", "json", *args],
                         capture_output=True, text=True, timeout=30, check=True)
    return list(json.loads(res.stdout or "[]"))


def test_alertmanager_receives_and_resolves(alertmanager: str) -> None:
    q = _run(AlertmanagerSender(alertmanager, resolve=_secrets), _note("firing", n=3))

    def active() -> list[dict[str, Any]]:
        return _amtool(alertmanager, "alert", "query", "alertname=HighCPUUsage")

    got = wait_for(lambda: len(active()) == 3 and active(), timeout=15, what="3 alerts")
    assert sorted(a["labels"]["host"] for a in got) == ["ws0", "ws1", "ws2"]
    assert got[0]["annotations"]["summary"] == "High CPU usage detected"
    # Resolved (endsAt in the past): amtool's default query shows active alerts only.
    assert q.submit(_note("resolved", n=3)) and q.flush(10)
    wait_for(lambda: not active(), timeout=15, what="alerts resolved")
    q.shutdown()

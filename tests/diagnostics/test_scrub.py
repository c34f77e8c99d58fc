"""The scrubber on its own: each credential shape, counts by kind, what it must not touch."""

from __future__ import annotations

import pytest

from timeline_telemetry.diagnostics import Scrubber


@pytest.mark.parametrize(("text", "kind", "secret"), [
    ("Authorization: Bearer abc.def-ghi", "bearer", "abc.def-ghi"),
    ("Authorization: Basic YWxpY2U6cHc=", "basic", "YWxpY2U6cHc="),
    ("smtp://mailer:pw1234@smtp.example:587", "url_userinfo", "pw1234"),
    ("GET /x?a=1&access_token=t0k3n&b=2", "url_query_token", "t0k3n"),
    ("https://hooks.slack.com/services/T1/B2/XyZsecret", "slack_webhook", "XyZsecret"),
    ("https://events.pagerduty.com/integration/abcdef0123456789abcdef/enqueue",
     "pagerduty_key", "abcdef0123456789abcdef"),
    ("api_key=k3yk3y", "secret_key", "k3yk3y"),
    ('{"smtp_password": "pw-in-text"}', "secret_key", "pw-in-text"),
])
def test_text_rules(text: str, kind: str, secret: str) -> None:
    s = Scrubber()
    out = s.text(text)
    assert secret not in out
    assert s.counts[kind] >= 1


def test_values_escaped_forms_and_references() -> None:
    s = Scrubber(secrets=['quo"te\\pw', "ab"])
    assert s.text(r'{"x": "quo\"te\\pw"}') == '{"x": "***"}'
    assert s.text("ab stays: too short to scrub") == "ab stays: too short to scrub"
    data = s.json({"headers": {"Authorization": "keyring:tok", "X": "lit"},
                   "trace_id": "0af7651916cd43dd8448eb211c80319c", "name": "render"})
    assert data == {"headers": {"Authorization": "keyring:tok", "X": "***"},
                    "trace_id": "0af7651916cd43dd8448eb211c80319c", "name": "render"}


def test_home_and_user_only_when_asked() -> None:
    text = "/home/alice/media/clip.mov opened by alice"
    assert Scrubber().text(text) == text
    s = Scrubber(home="/home/alice", user="alice")
    assert s.text(text) == "~/media/clip.mov opened by <user>"
    assert s.counts["home_path"] == 1 and s.counts["user_name"] == 1

"""redact_text / redact_attribute: each secret kind masked and counted, nothing else touched,
idempotent, fast enough for every console line and stored log record."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

import secret_samples as tokens
from timeline_telemetry.redact import MASK, redact_attribute, redact_text


@pytest.mark.parametrize(("text", "kind"), [
    (f"key {tokens.AWS_KEY} used", "aws_access_key"),
    (f"key {tokens.AWS_TEMP_KEY} used", "aws_access_key"),
    *((f"auth {tok}", "github_token") for tok in tokens.GITHUB.values()),
    (f"auth {tokens.GITHUB_PAT}", "github_token"),
    (f"slack {tokens.SLACK}", "slack_token"),
    (f"jwt {tokens.JWT} done", "jwt"),
    (f"key:\n{tokens.PEM}\nafter", "pem_private_key"),
    (json.dumps({"msg": f"key: {tokens.PEM}"}), "pem_private_key"),  # escaped newlines
    *((f"{name}={value}", "secret_key") for name, value in tokens.PAIRS.items()),
    (f'{{"password": "{tokens.JSON_PASSWORD}"}}', "secret_key"),
    (f"Authorization: Bearer {tokens.BEARER}", "bearer"),
    ("https://ed:Url-Pw-123@media.example/x", "url_userinfo"),
    ("https://media.example/x?token=QueryTok-123&a=1", "url_query_token"),
])
def test_each_kind_is_masked_and_counted(text: str, kind: str) -> None:
    counts: Counter[str] = Counter()
    out = redact_text(text, counts)
    for secret in (*tokens.ALL, "Url-Pw-123", "QueryTok-123"):
        assert secret not in out
    assert MASK in out
    assert counts[kind] >= 1, counts
    assert redact_text(out) == out  # idempotent: masked text is left alone
    again: Counter[str] = Counter()
    redact_text(out, again)
    assert not again


def test_readable_context_is_kept() -> None:
    assert redact_text(f"key {tokens.AWS_KEY} used") == "key AKIA*** used"
    assert redact_text(f"auth {tokens.GITHUB['ghp_']}!") == "auth ghp_***!"
    assert redact_text(f"x {tokens.SLACK} y") == "x xoxb-*** y"
    assert redact_text(f"a\n{tokens.PEM}\nb") == "a\n-----BEGIN RSA PRIVATE KEY-----***\nb"
    assert redact_text("password=hunter2 user=ed") == "password=*** user=ed"
    assert redact_text("use keyring:smtp_password") == "use keyring:smtp_password"


def test_a_pem_block_cut_short_is_masked_to_its_end() -> None:
    out = redact_text("-----BEGIN PRIVATE KEY-----\n" + tokens.PEM_BODY[0] + "\n")
    assert tokens.PEM_BODY[0] not in out


@pytest.mark.parametrize("text", tokens.INNOCENT)
def test_nothing_else_is_redacted(text: str) -> None:
    counts: Counter[str] = Counter()
    assert redact_text(text, counts) == text
    assert not counts


def test_attributes_under_secret_keys_are_masked_whole() -> None:
    assert redact_attribute("authorization", "Token abc") == MASK
    assert redact_attribute("api_key", "k-123") == MASK
    assert redact_attribute("db.password", "p") == MASK
    assert redact_attribute("http.url", "https://u:p@host/x?token=t&n=1") == \
        "https://***@host/x?token=***&n=1"
    assert redact_attribute("frames", "3600") == "3600"
    assert redact_attribute("api_key", "env:UPLOAD_KEY") == "env:UPLOAD_KEY"


def test_fast_on_ordinary_lines() -> None:
    line = "12:03:05.120 span video_render 1.25s trace=4bf92f35 id=00f067aa ok frames=3600"
    start = time.perf_counter()
    for _ in range(2000):
        redact_text(line)
    per_line = (time.perf_counter() - start) / 2000
    assert per_line < 200e-6, f"{per_line * 1e6:.0f} us a line"


@pytest.mark.parametrize("hostile", [
    "?" + "token" * 100_000,  # a query name with key words all along
    "a://" * 125_000,  # a name then ":" over and over, no whitespace: one value each
    "-----BEGIN RSA PRIVATE KEY-----" * 16_000,  # headers and no END
    "-a" * 250_000,  # one long run of scheme characters
    '"token": "' + "x" * 500_000,  # a JSON string that never ends
])
def test_linear_time_on_hostile_text(hostile: str) -> None:
    # 500 kB each: linear, well under a second; the quadratic versions took minutes
    start = time.perf_counter()
    redact_text(hostile)
    assert time.perf_counter() - start < 2.0

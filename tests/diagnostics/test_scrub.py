"""The scrubber on its own: each credential shape, counts by kind, what it must not touch."""

from __future__ import annotations

import pytest

from timeline_telemetry.diagnostics import Scrubber
from timeline_telemetry.redact import Identity, Pseudonymiser, PseudonymPolicy


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


def test_home_and_user_only_with_a_pseudonymiser() -> None:
    text = "/home/alice/media/clip.mov opened by alice"
    assert Scrubber().text(text) == text
    s = Scrubber(pseudonyms=Pseudonymiser(Identity(user="alice", home="/home/alice")))
    assert s.text(text) == "~/media/clip.mov opened by <user-1>"
    assert s.pseudonyms is not None
    assert s.pseudonyms.counts == {"home_path": 1, "user_name": 1}
    assert not s.counts  # secrets and pseudonyms are counted apart


def test_json_value_that_is_the_user_name_whatever_its_length() -> None:
    s = Scrubber(pseudonyms=Pseudonymiser(Identity(user="ed", home="/home/ed")))
    doc = {"user": "ed", "note": "edited by ed", "cwd": "/home/ed/clips"}
    assert s.json(doc) == {"user": "<user-1>", "note": "edited by ed", "cwd": "~/clips"}


def test_pseudonym_report_names_no_name() -> None:
    who = Identity(user="jdoe", home="/home/jdoe", hosts=("edit-ws01",))
    s = Scrubber(pseudonyms=Pseudonymiser(who, PseudonymPolicy(hosts=True)))
    s.text("jdoe on edit-ws01 at 10.1.2.3 and 10.1.2.4, /home/jdoe/x")
    report = s.pseudonym_report()
    assert report["flags"] == ["--pseudonymize-hosts"]
    assert report["counts"] == {"home_path": 1, "host_name": 1, "private_ip": 2,
                                "user_name": 1}
    assert report["distinct"] == {"host_name": 1, "private_ip": 2, "user_name": 1}
    assert "jdoe" not in str(report) and "edit-ws01" not in str(report)


# --- command lines: the space-separated forms ------------------------------------------------

@pytest.mark.parametrize(("line", "shown"), [
    ("someprog --token CMDTOK1 --verbose", "someprog --token *** --verbose"),
    ("app --password PW1 --api-key AK1 --secret S1 --client-secret=CS1",
     "app --password *** --api-key *** --secret *** --client-secret=***"),
    ("goprog -api-key AK2 -auth-token AT2 -passphrase PP2",
     "goprog -api-key *** -auth-token *** -passphrase ***"),
    ("env AWS_SECRET_ACCESS_KEY=wJalr/K7+MDENG PGPASSWORD=PgPw3 GITHUB_TOKEN=ghp_x1 run",
     "env AWS_SECRET_ACCESS_KEY=*** PGPASSWORD=*** GITHUB_TOKEN=*** run"),
    ("/usr/bin/mysql -uroot -pMyPw4 -h db.local -P3306 shop",
     "/usr/bin/mysql -uroot -p*** -h db.local -P3306 shop"),
    ("redis-cli -a RedisPw5 -h cache.local --pass RedisPw6",
     "redis-cli -a *** -h cache.local --pass ***"),
    ("sshpass -p SshPw7 ssh -p 2222 render@farm", "sshpass -p *** ssh -p 2222 render@farm"),
    ("curl -u bob:CurlPw8 -Ualice:ProxyPw9 https://x.example",
     "curl -u bob:*** -Ualice:*** https://x.example"),
    ("openssl enc -passin pass:OsslPw10 -passout env:OUT_PW",
     "openssl enc -passin pass:*** -passout env:OUT_PW"),
    # quoted inside JSON text: the quotes and punctuation stay
    ('{"cmdline": "prog --token JsonTok11", "pid": 7}',
     '{"cmdline": "prog --token ***", "pid": 7}'),
])
def test_command_line_secrets(line: str, shown: str) -> None:
    s = Scrubber()
    assert s.text(line) == shown
    assert s.text(shown) == shown  # masks are not masked again


@pytest.mark.parametrize("line", [
    "ssh -p 2222 render@farm",                    # -p is a port here
    "psql -h db -p 5432 -U render",
    "mysql -p shop",                              # -p alone prompts; shop is the database
    "prog --token-file /run/secrets/tok --password-stdin registry.example",
    "prog --no-password host.example --token keyring:deploy",
    "curl -u bob https://x.example",              # no password given: curl asks
    "2026-01-01 INFO used 512 tokens - queue-depth 0",
])
def test_command_lines_without_secrets_are_unchanged(line: str) -> None:
    s = Scrubber()
    assert s.text(line) == line
    assert s.counts["secret_arg"] == 0


def test_argv_lists_mask_whole_elements() -> None:
    s = Scrubber()
    argv = ["prog", "--token", "tok with space", "--api-key=AK", "-p", "8080",
            "PGPASSWORD=pg", "mysql", "-pGlued"]
    assert s.argv(argv) == ["prog", "--token", "***", "--api-key=***", "-p", "8080",
                            "PGPASSWORD=***", "mysql", "-p***"]
    assert s.counts["secret_arg"] == 2
    # a list of strings inside JSON is read as a command line too
    data = s.json({"cmdline": ["prog", "--secret", "S3cr3tArg"], "names": ["a", "b"]})
    assert data == {"cmdline": ["prog", "--secret", "***"], "names": ["a", "b"]}


# --- alert webhook URLs -------------------------------------------------------------------

def test_webhook_action_url_keeps_scheme_host_port_and_is_forgotten_everywhere() -> None:
    s = Scrubber()
    config = {"telemetry": {"alerts": {"actions": [
        {"Webhook": {"url": "https://alerts.example:8443/hook/GenericPathSecret987?x=1"}},
        {"Webhook": {"url": "https://discord.com/api/webhooks/42/DiscordTok"}},
        {"Webhook": {"url": "keyring:teams_url"}},
        {"Alertmanager": {"url": "http://am.local:9093/prefix"}},
    ]}}}
    shown = s.json(config)
    actions = shown["telemetry"]["alerts"]["actions"]  # type: ignore[index]
    assert [next(iter(a.values()))["url"] for a in actions] == [
        "https://alerts.example:8443/***", "https://discord.com/***", "keyring:teams_url",
        "http://am.local:9093/prefix"]
    assert s.counts["webhook_url"] == 2
    # the same URL in a later log line (an action's error message) is removed as well
    log = "ERROR alerts: POST https://alerts.example:8443/hook/GenericPathSecret987: HTTP 500"
    out = s.text(log)
    assert "GenericPathSecret987" not in out and "alerts.example:8443" in out


def test_known_webhook_paths_in_text() -> None:
    s = Scrubber()
    out = s.text("to https://discord.com/api/webhooks/42/DiscTok and "
                 "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/TeamsTok")
    assert "DiscTok" not in out and "TeamsTok" not in out
    assert "discord.com/api/webhooks/***" in out and s.counts["webhook_path"] == 2

"""``timeline-telemetry silence add|list|expire``: Alertmanager's matcher syntax, the real
command against a temporary home, and a running agent honouring a silence added from the
command line at its next evaluation."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from agent_process import run_cli
from support import wait_for
from timeline_telemetry.alerts.matchers import (
    MatcherError,
    format_matcher,
    parse_matcher,
    parse_matchers,
    parse_silence_matchers,
)
from timeline_telemetry.alerts.silence_cli import format_time, parse_end_time
from timeline_telemetry.alerts.store import AlertStore
from timeline_telemetry.config import parse_config
from timeline_telemetry.history.model import LabelMatcher
from timeline_telemetry.paths import AppPaths
from timeline_telemetry.runtime import AgentRuntime, AlertNotice, RuntimeEvent


# -- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ('alertname="HighCPUUsage"', ("alertname", "=", "HighCPUUsage")),
    ('severity=~"warn.*"', ("severity", "=~", "warn.*")),
    ("instance!=host1", ("instance", "!=", "host1")),
    ('job!~"a|b"', ("job", "!~", "a|b")),
    ("  a = b  ", ("a", "=", "b")),
    ("name:sub=x", ("name:sub", "=", "x")),
    ('a=""', ("a", "=", "")),
    ("a=", ("a", "=", "")),
    ('a="say \\"hi\\""', ("a", "=", 'say "hi"')),
    ('a="back\\\\slash"', ("a", "=", "back\\slash")),
    ('a="two\\nlines"', ("a", "=", "two\nlines")),
    ('a=~"\\d+"', ("a", "=~", "\\d+")),  # a spurious escape keeps its backslash
    ("a=x=y", ("a", "=", "x=y")),
    ("a==b", ("a", "=", "=b")),  # as Alertmanager: the value is everything after the op
    ('a="x,y"', ("a", "=", "x,y")),
    ("a=~~x", ("a", "=~", "~x")),
])
def test_valid_matchers(text: str, expected: tuple[str, str, str]) -> None:
    assert parse_matcher(text) == LabelMatcher(*expected)


@pytest.mark.parametrize(("text", "problem"), [
    ("alertname", "expected NAME OP VALUE"),
    ("1abc=x", "expected NAME OP VALUE"),
    ("a<b", "expected NAME OP VALUE"),
    ('a="open', "closing double quote is missing"),
    ('a="x"y"', "unescaped double quote"),
    ('a=x"', "unescaped double quote"),
    ('a=~"("', "is not a regular expression"),
    ("", "expected NAME OP VALUE"),
])
def test_invalid_matchers_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(MatcherError) as info:
        parse_matcher(text)
    msg = str(info.value)
    assert problem in msg and repr(text) in msg and "\n" not in msg


def test_a_brace_list_splits_on_commas_outside_quotes() -> None:
    got = parse_matchers('{alertname="X", job="a,b",severity!~"info|debug",}')
    assert got == [LabelMatcher("alertname", "=", "X"), LabelMatcher("job", "=", "a,b"),
                   LabelMatcher("severity", "!~", "info|debug")]
    with pytest.raises(MatcherError, match="closing brace"):
        parse_matchers('{a="b"')
    with pytest.raises(MatcherError, match="no matchers"):
        parse_matchers("{}")


def test_regexes_match_the_whole_value_as_in_alertmanager() -> None:
    m = parse_matcher('severity=~"warn"')
    assert m.matches({"severity": "warn"})
    assert not m.matches({"severity": "warning"}) and not m.matches({"severity": "prewarn"})
    assert parse_matcher('severity=~"warn.*"').matches({"severity": "warning"})
    assert parse_matcher('severity!~"warn|crit"').matches({"severity": "info"})
    assert parse_matcher("x=").matches({})  # a missing label is the empty string


def test_silence_matchers_like_amtool() -> None:
    # A bare first argument is the alert's name.
    assert parse_silence_matchers(["HighCPUUsage", 'severity=~"warn.*"']) == [
        LabelMatcher("alertname", "=", "HighCPUUsage"),
        LabelMatcher("severity", "=~", "warn.*")]
    with pytest.raises(MatcherError, match="expected NAME OP VALUE"):
        parse_silence_matchers(["HighCPUUsage", "Other"])
    # Matchers that all match the empty string would mute every alert.
    for bad in (['x=~".*"'], ["x="], ['job!="a"']):
        with pytest.raises(MatcherError, match="matches the empty string"):
            parse_silence_matchers(bad)
    with pytest.raises(MatcherError, match="no matchers"):
        parse_silence_matchers([])


@pytest.mark.parametrize("value", ["plain", 'q"uote', "back\\slash", "line\nbreak", "a\\d+"])
def test_format_matcher_parses_back(value: str) -> None:
    m = LabelMatcher("a", "=", value)
    assert parse_matcher(format_matcher(m)) == m


def test_end_times_are_rfc3339() -> None:
    assert parse_end_time("2030-01-01T00:00:00Z") == 1893456000.0
    assert parse_end_time("2030-01-01T01:00:00+01:00") == 1893456000.0
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_end_time("tomorrow")
    shown = format_time(1893456000.0)
    assert parse_end_time(shown) == 1893456000.0 and shown[-6] in "+-"


# -- the command ---------------------------------------------------------------------------
def test_add_list_expire_through_the_command(app_home: Path) -> None:
    r = run_cli("silence", "add", "HighCPUUsage", 'severity=~"warn.*"', "--duration", "2h",
                "--comment", "deploy", "--author", "ops", home=app_home)
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip()
    assert len(sid) == 32
    other = run_cli("silence", "add", '{job="a,b"}', "--end", "2099-01-01T00:00:00Z",
                    home=app_home)
    assert other.returncode == 0, other.stderr

    table = run_cli("silence", "list", home=app_home)
    assert table.returncode == 0, table.stderr
    head, *rows = table.stdout.splitlines()
    assert head.split() == ["ID", "MATCHERS", "STARTS", "AT", "ENDS", "AT", "CREATED", "BY",
                            "COMMENT"]
    assert rows[0].split()[:2] == [sid, 'alertname="HighCPUUsage",severity=~"warn.*"']
    assert rows[0].split()[4:] == ["ops", "deploy"]

    listed = json.loads(run_cli("silence", "list", "--json", home=app_home).stdout)
    assert [s["id"] for s in listed] == [sid, other.stdout.strip()]
    first = listed[0]
    assert first["matchers"] == [{"name": "alertname", "op": "=", "value": "HighCPUUsage"},
                                 {"name": "severity", "op": "=~", "value": "warn.*"}]
    span = parse_end_time(first["ends_at"]) - parse_end_time(first["starts_at"])
    assert abs(span - 7200) <= 1 and first["state"] == "active"
    assert listed[1]["ends_at"] == format_time(4070908800.0)

    # Stored where the tray's snooze and acknowledge are.
    store = AlertStore(app_home / "data" / "alerts.sqlite3")
    try:
        assert {s.id for s in store.silences()} == {sid, other.stdout.strip()}
    finally:
        store.close()

    gone = run_cli("silence", "expire", sid[:8], home=app_home)
    assert gone.returncode == 0 and gone.stdout.strip() == f"expired {sid}", gone.stderr
    active = json.loads(run_cli("silence", "list", "--json", home=app_home).stdout)
    assert [s["id"] for s in active] == [other.stdout.strip()]
    expired = json.loads(run_cli("silence", "list", "--json", "--expired", home=app_home).stdout)
    assert [(s["id"], s["state"]) for s in expired] == [(sid, "expired")]

    again = run_cli("silence", "expire", sid, home=app_home)
    assert again.returncode == 2 and "already expired" in again.stderr
    unknown = run_cli("silence", "expire", "nope", home=app_home)
    assert unknown.returncode == 2 and "no silence has id 'nope'" in unknown.stderr


@pytest.mark.parametrize(("args", "problem"), [
    (['severity=~"warn'], "closing double quote is missing"),
    (["sev<warn"], 'OP one of = != =~ !~, e.g. alertname="HighCPUUsage"'),
    (['a=~"("'], "is not a regular expression"),
    (['x=~".*"'], "matches the empty string"),
    (["A", "--end", "yesterday"], "expected RFC 3339"),
    (["A", "--end", "2001-01-01T00:00:00Z"], "is not in the future"),
])
def test_bad_input_is_one_line_and_exit_2(app_home: Path, args: list[str],
                                          problem: str) -> None:
    r = run_cli("silence", "add", *args, home=app_home)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and problem in lines[0], r.stderr
    assert not (app_home / "data" / "alerts.sqlite3").exists()


def test_the_configured_alert_store_is_used(tmp_path: Path, app_home: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {"alerts": {"history_path": "al.sqlite3"}}}))
    r = run_cli("silence", "add", "--config", str(cfg), "X", home=app_home)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "al.sqlite3").is_file()
    assert not (app_home / "data" / "alerts.sqlite3").exists()
    listed = run_cli("silence", "list", "--json", "--config", str(cfg), home=app_home)
    assert [s["id"] for s in json.loads(listed.stdout)] == [r.stdout.strip()]


# -- a running agent -------------------------------------------------------------------------
# Fires and resolves every second, so each new firing is a notification unless silenced.
TOGGLING = """
groups:
  - name: test
    rules:
      - alert: Toggling
        expr: vector(time() % 1) < 0.5
        labels: {severity: warning}
        annotations: {summary: toggling}
"""


class Notices:
    def __init__(self) -> None:
        self.firing: list[float] = []
        self.lock = threading.Lock()

    def on_event(self, event: RuntimeEvent) -> None:
        if isinstance(event, AlertNotice) and event.firing:
            with self.lock:
                self.firing.append(1.0)

    def count(self) -> int:
        with self.lock:
            return len(self.firing)


def test_a_running_agent_honours_a_silence_added_from_the_command(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(TOGGLING)
    cfg = parse_config(
        {"telemetry": {
            "metrics": {"collection_interval": "100ms", "exporters": []},
            "alerts": {"rule_files": ["rules.yml"], "evaluation_interval": "100ms",
                       "flap": {"max_changes": 0}},
            "health": {"enabled": False},
            "ingest": {"otlp": {"enabled": False}},
        }},
        source="test", base_dir=tmp_path,
    )
    home = tmp_path / "home"
    notices = Notices()
    runtime = AgentRuntime(cfg, AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(home)}),
                           mode="headless")
    runtime.events.subscribe(notices.on_event)
    runtime.start()
    try:
        alerts = runtime.manager.alerts
        assert alerts is not None
        wait_for(lambda: notices.count() >= 2, timeout=30, what="two firing notifications")

        added = run_cli("silence", "add", "alertname=Toggling", "--duration", "10m",
                        "--comment", "from the test", home=home)
        assert added.returncode == 0, added.stderr
        sid = added.stdout.strip()
        [silence] = alerts.silences()
        assert silence.id == sid and silence.comment == "from the test"

        def muted_firings() -> list[float]:
            return [e.ts for e in alerts.history(500)
                    if e.event == "silenced" and e.ts >= silence.starts_at]

        wait_for(lambda: len(muted_firings()) >= 2, timeout=30,
                 what="two firings recorded as silenced")
        # Every firing since the silence was muted: no notification, no "firing" event.
        assert not [e for e in alerts.history(500)
                    if e.event == "firing" and e.ts >= silence.starts_at]
        before = notices.count()
        n = alerts.evaluations
        assert alerts.wait_for_evaluations(n + 15, timeout_s=30)
        assert notices.count() == before

        expired = run_cli("silence", "expire", sid, home=home)
        assert expired.returncode == 0, expired.stderr
        wait_for(lambda: notices.count() > before, timeout=30,
                 what="a firing notification after the silence expired")
    finally:
        runtime.stop()


@pytest.mark.parametrize("action", ["add", "list", "expire"])
def test_help_of_each_action(app_home: Path, action: str) -> None:
    r = run_cli("silence", action, "--help", home=app_home)
    assert r.returncode == 0 and f"silence {action}" in r.stdout


def test_silence_alone_prints_help_and_exit_2(app_home: Path) -> None:
    r = run_cli("silence", home=app_home)
    assert r.returncode == 2 and "add" in r.stderr and "expire" in r.stderr


def test_without_duration_the_configured_default_applies(app_home: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {"alerts": {"default_silence_duration": "3h"}}}))
    r = run_cli("silence", "add", "Disk", "--config", str(cfg), home=app_home)
    assert r.returncode == 0, r.stderr
    [s] = json.loads(run_cli("silence", "list", "--json", "--config", str(cfg),
                             home=app_home).stdout)
    span = parse_end_time(s["ends_at"]) - parse_end_time(s["starts_at"])
    assert abs(span - 3 * 3600) <= 1

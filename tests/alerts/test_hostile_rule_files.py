"""Malformed and hostile rule files through the real CLI: one line naming file, line:column
and problem, exit 1 (as promtool), never a traceback; the agent refuses to start on them
with exit 2 (a config problem)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from alerts_helpers import PROM_DIR, RULE_TESTS

from agent_process import run_cli
from support import PROMTOOL
from timeline_telemetry.alerts import run_rules_test

# A "billion laughs" of a few hundred bytes: fully expanded, 9**8 copies of a list of 12.
ALIAS_BOMB = "".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n']
    + [f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                 strict=True)]
    + ["groups: *i\n"]
)

RULE = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: {expr}\n{extra}"

# (file content, the line expected after "FILE:")
CASES: dict[str, tuple[bytes, str]] = {
    "groups-true": (b"groups: true\n", "1:9: 'groups' must be a list of groups, got true"),
    "group-int": (b"groups: [1]\n", "1:10: group 0: must be a mapping"),
    "rules-string": (b"groups:\n  - name: a\n    rules: \"x\"\n",
                     "3:12: group 'a': 'rules' must be a list of rules, got 'x'"),
    "rule-list": (b"groups:\n  - name: a\n    rules: [[1]]\n",
                  "3:13: group 'a': rule 0: a rule must be a mapping"),
    "labels-list": (RULE.format(expr="up", extra="        labels: [a]\n").encode(),
                    "6:17: group 'g': rule 0: alert='A': labels: must be a mapping"),
    "label-value-map": (RULE.format(expr="up", extra="        labels: {a: {b: c}}\n").encode(),
                        "6:21: group 'g': rule 0: alert='A': labels: the value of a must be"),
    "expr-list": (RULE.format(expr="[1]", extra="").encode(),
                  "5:15: group 'g': rule 0: alert='A': field 'expr' must be set"),
    "limit-text": (b"groups:\n  - name: a\n    limit: lots\n",
                   "3:12: group 'a': limit must be a whole number"),
    "absurd-for": (RULE.format(expr="up", extra="        for: 99999999999999999999d\n").encode(),
                   "6:14: group 'g': rule 0: alert='A': for: duration out of range: "
                   "99999999999999999999d (accepted: 0 to 292471208y)"),
    "absurd-interval": (b"groups:\n  - name: a\n    interval: 99999999999999999999y\n",
                        "3:15: group 'a': interval: duration out of range"),
    "5000-parens": (RULE.format(expr="(" * 5000 + "1" + ")" * 5000, extra="").encode(),
                    "5:15: group 'g': rule 0: alert='A': could not parse expression: query "
                    "nested too deeply: more than 128 levels of brackets"),
    "5000-operators": (RULE.format(expr=" + ".join(["up"] * 5000), extra="").encode(),
                       "5:15: group 'g': rule 0: alert='A': could not parse expression: "
                       "query too complex: more than 1000 operators"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe",
               "1:8: contains a NUL byte; is this a binary file?"),
    "latin-1": ("groups:\n  - name: caf\u00e9\n".encode("latin-1"),
                "2:14: not UTF-8 text (byte 0xe9); is this a binary file?"),
    "deep-yaml": (b"[" * 100_000, "1:65: nested too deeply: more than 64 levels"),
    "deep-block-yaml": ("".join("  " * i + f"k{i}:\n" for i in range(100)).encode(),
                        "65:129: nested too deeply: more than 64 levels"),
    "yaml-syntax": (b"groups:\n  - name: [\n", "3:1: invalid YAML: while parsing a flow"),
    "alias": (b"groups:\n  - name: a\n    rules: *r\n", "3:12: YAML alias *r is not accepted"),
    "alias-bomb": (ALIAS_BOMB.encode(), "1:4: YAML anchor &a is not accepted"),
    "duplicate-key": (b"groups:\n  - name: a\n    name: b\n",
                      "3:5: mapping key 'name' already defined"),
    "not-a-mapping": (b"- groups\n", "1:1: a rule file is a mapping with only 'groups'"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_rules_check_names_file_position_and_problem(
    tmp_path: Path, app_home: Path, case: str
) -> None:
    body, expected = CASES[case]
    f = tmp_path / "r.yml"
    f.write_bytes(body)
    res = run_cli("rules", "check", str(f), home=app_home, timeout=30)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and res.stderr == ""
    assert f"{f}:{expected}" in res.stdout, res.stdout
    problems = [ln for ln in res.stdout.splitlines() if ln.startswith(str(f))]
    assert len(problems) == 1, res.stdout


def test_the_alias_bomb_is_refused_at_once(tmp_path: Path, app_home: Path) -> None:
    """Unbounded, this took 112 s and 16 GB; refused at compose time it takes milliseconds.
    The 30 s timeout only stops a regression from hanging the suite."""
    assert len(ALIAS_BOMB) < 1024
    f = tmp_path / "bomb.yml"
    f.write_text(ALIAS_BOMB)
    for action in ("check", "test"):
        res = run_cli("rules", action, str(f), home=app_home, timeout=30)
        assert res.returncode == 1
        assert f"{f}:1:4: YAML anchor &a is not accepted" in res.stdout


def test_an_oversized_rule_file_is_refused(tmp_path: Path, app_home: Path) -> None:
    f = tmp_path / "big.yml"
    f.write_text("groups: []\n" + "#" * (5 * 1024 * 1024) + "\n")
    res = run_cli("rules", "check", str(f), home=app_home, timeout=30)
    assert res.returncode == 1
    assert f"{f}: the rule file is 5.0 MiB; at most 4.0 MiB is accepted" in res.stdout


# -- rules test on what is not a unit-test file -------------------------------------------
NOT_TEST_FILES: dict[str, tuple[str, str]] = {
    "foo-bar": ("foo: bar\n", ":1:6: field foo not found in type main.unitTestFile"),
    "config-json": (json.dumps({"telemetry": {"enabled": True}}),
                    ":1:15: field telemetry not found in type main.unitTestFile"),
    "rule-file": ((PROM_DIR / "alert_rules.yml").read_text(),
                  ":6:3: field groups not found in type main.unitTestFile"),
    "tests-true": ("tests: true\n", ":1:8: tests: expected a list, got true"),
    "test-int": ("tests:\n  - 1\n", ":2:5: tests[0]: cannot unmarshal 1 into main.testGroup"),
    "unknown-test-field": ("tests:\n  - interval: 1m\n    bogus: 1\n",
                           ":3:12: field bogus not found in type main.testGroup"),
    "series-list": ("tests:\n  - input_series: [{series: [a]}]\n",
                    ":2:29: tests[0].input_series[0].series: expected a string, got a list"),
    "absurd-eval-time": ("tests:\n  - alert_rule_test:\n      - alertname: A\n"
                         "        eval_time: 99999999999999999999d\n",
                         ":4:20: tests[0].alert_rule_test[0].eval_time: duration out of range"),
    "list": ("- a\n", ":1:1: cannot unmarshal a list into main.unitTestFile"),
}


@pytest.mark.parametrize("case", NOT_TEST_FILES, ids=list(NOT_TEST_FILES))
def test_rules_test_refuses_what_is_not_a_test_file(
    tmp_path: Path, app_home: Path, case: str
) -> None:
    body, expected = NOT_TEST_FILES[case]
    f = tmp_path / "t.yml"
    f.write_text(body)
    res = run_cli("rules", "test", str(f), home=app_home, timeout=30)
    assert res.returncode == 1, res.stdout
    assert "SUCCESS" not in res.stdout and "FAILED" in res.stdout
    assert f"{f}{expected}" in res.stdout, res.stdout
    if PROMTOOL is not None:  # promtool refuses the same files with the same exit code
        theirs = subprocess.run([PROMTOOL, "test", "rules", str(f)], capture_output=True,
                                text=True, timeout=60, check=False)
        assert theirs.returncode == 1, theirs.stdout + theirs.stderr


@pytest.mark.parametrize("body", ["", "rule_files: []\n", "tests: []\n"],
                         ids=["empty", "no-tests", "empty-tests"])
def test_rules_test_refuses_a_file_without_tests(
    tmp_path: Path, app_home: Path, body: str
) -> None:
    """Stricter than promtool, which says SUCCESS for these: a file that tests nothing is a
    mistake (a rule file or a config passed by accident), not a pass."""
    f = tmp_path / "t.yml"
    f.write_text(body)
    res = run_cli("rules", "test", str(f), home=app_home, timeout=30)
    assert res.returncode == 1
    assert "a rule unit-test file needs 'tests:'" in res.stdout


def test_rules_test_refuses_an_endless_test(tmp_path: Path, app_home: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text(f"rule_files: [{PROM_DIR / 'alert_rules.yml'}]\ntests:\n  - input_series:\n"
                 "      - series: up\n        values: 1+1x999999999\n"
                 "    alert_rule_test:\n      - alertname: A\n        eval_time: 1000y\n")
    res = run_cli("rules", "test", str(f), home=app_home, timeout=30)
    assert res.returncode == 1
    assert "too many points in '1+1x999999999'" in res.stdout


def test_the_shipped_unit_tests_still_pass(app_home: Path) -> None:
    res = run_cli("rules", "test", *map(str, RULE_TESTS), home=app_home)
    assert res.returncode == 0, res.stdout


def test_the_agent_refuses_to_start_on_a_bad_rule_file(tmp_path: Path, app_home: Path) -> None:
    rules = tmp_path / "r.yml"
    rules.write_text(RULE.format(expr="(" * 5000 + "1" + ")" * 5000, extra=""))
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"telemetry": {"alerts": {"enabled": True,
                                                        "rule_files": [str(rules)]}}}))
    line = (f"telemetry.alerts.rule_files: {rules}:5:15: group 'g': rule 0: alert='A': "
            "could not parse expression: query nested too deeply")
    res = run_cli("run", "--headless", "--config", str(cfg), home=app_home, timeout=30)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert line in res.stderr
    res = run_cli("config", "validate", str(cfg), home=app_home, timeout=30)
    assert res.returncode == 2 and line in res.stderr


def test_rules_test_refuses_an_eval_time_too_far_away(tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text("tests:\n  - alert_rule_test:\n      - alertname: A\n"
                 "        eval_time: 1000y\n")
    out = io.StringIO()
    assert run_rules_test([f], out) == 1
    assert "is more than 1000000 evaluation intervals away" in out.getvalue()
    f.write_text("evaluation_interval: 0s\ntests:\n  - alert_rule_test:\n"
                 "      - alertname: A\n        eval_time: 1m\n")
    out = io.StringIO()
    assert run_rules_test([f], out) == 1
    assert "evaluation_interval must be longer than zero" in out.getvalue()

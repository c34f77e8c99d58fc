"""Fuzzing the rule-file loader and ``rules test``: whatever a rule file holds, loading it
gives groups or a RuleFileError whose every line names the file; running a unit-test file
gives pass or fail, never another exception."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from fuzz_support import FUZZ
from hypothesis import given
from hypothesis import strategies as st
from promql_strategies import ANY_EXPR, EXPRESSIONS

from timeline_telemetry.alerts.rules import RuleFileError, RuleGroup, load_rule_file
from timeline_telemetry.alerts.ruletest import run_test_file

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["5m", "0", "1h30m", "99999999999999999999d", "{{ $value }}",
                     "{{ .Labels.x", "severity", "2001-12-14", "~", "!!str", "*a"]),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=8), st.integers()),
                                            inner, max_size=4)),
    max_leaves=12,
)
RULE_KEYS = ["alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations",
             "bogus"]
GROUP_KEYS = ["name", "interval", "rules", "limit", "query_offset", "bogus"]


def _shaped(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


RULE = st.one_of(
    st.fixed_dictionaries(
        {"alert": st.sampled_from(["A", "B", ""]), "expr": EXPRESSIONS},
        optional={"for": SCALARS, "labels": st.one_of(TREES, st.dictionaries(
            st.sampled_from(["severity", "a b", "__x"]), SCALARS, max_size=2)),
                  "annotations": st.dictionaries(st.sampled_from(["summary", "d"]),
                                                 st.one_of(SCALARS, st.sampled_from(
                                                     ["{{ $labels.job }}", "{{ if }}"])))}),
    st.fixed_dictionaries({"record": st.sampled_from(["job:up:sum", "bad name"]),
                           "expr": EXPRESSIONS}),
    _shaped(RULE_KEYS, st.one_of(SCALARS, TREES, EXPRESSIONS)),
    TREES,
)
GROUP = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(["g", "h", ""]),
                           "rules": st.lists(RULE, max_size=3)},
                          optional={"interval": SCALARS, "limit": SCALARS}),
    _shaped(GROUP_KEYS, st.one_of(SCALARS, TREES, st.lists(RULE, max_size=2))),
)
RULE_FILES = st.one_of(
    st.fixed_dictionaries({"groups": st.lists(GROUP, max_size=3)}),
    st.dictionaries(st.sampled_from(["groups", "foo"]), st.one_of(TREES, st.lists(GROUP))),
    TREES,
)
YAML_SOUP = st.text(alphabet="groups:namerulexp -[]{}&*!|>'\"#\n\t ,?%@`\\\u00e9\u0000\ufeff",
                    max_size=200)


def _check(path: Path) -> None:
    try:
        groups = load_rule_file(path)
    except RuleFileError as exc:
        assert exc.errors
        for line in exc.errors:
            assert line.startswith(str(path)), line
            assert "\n" not in line and "Traceback" not in line
    else:
        assert all(isinstance(g, RuleGroup) for g in groups)


@FUZZ
@given(doc=RULE_FILES)
def test_rule_shaped_trees_load_or_give_rule_file_errors(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    _check(path)


@FUZZ
@given(text=st.one_of(YAML_SOUP, ANY_EXPR.map(lambda e: f"groups:\n- name: g\n  rules:\n"
                                                        f"  - alert: A\n    expr: '{e}'\n")),
       raw=st.binary(max_size=100))
def test_random_text_and_bytes_load_or_give_rule_file_errors(
    tmp_path: Path, text: str, raw: bytes
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(text, "utf-8")
    _check(path)
    path.write_bytes(raw)
    _check(path)


SERIES = st.fixed_dictionaries(
    {"series": st.sampled_from(["up", 'up{job="a"}', "{}", "m{", "(((", "1"]),
     "values": st.one_of(st.sampled_from(["1+1x10", "0 1 _ stale", "_x3 5x2", "1x1e9",
                                          "1+1x999999999", "x"]), SCALARS)},
)
TEST_GROUP = st.fixed_dictionaries(
    {},
    optional={
        "interval": st.sampled_from(["1m", "0", "30s", "1y"]),
        "input_series": st.lists(st.one_of(SERIES, TREES), max_size=3),
        "alert_rule_test": st.lists(st.one_of(
            st.fixed_dictionaries({"eval_time": st.sampled_from(["5m", "0", "1000y"]),
                                   "alertname": st.sampled_from(["HighCPUUsage", "A"])},
                                  optional={"exp_alerts": TREES}),
            TREES), max_size=2),
        "promql_expr_test": st.lists(st.one_of(
            st.fixed_dictionaries({"expr": EXPRESSIONS,
                                   "eval_time": st.sampled_from(["5m", "0"])},
                                  optional={"exp_samples": st.lists(st.fixed_dictionaries(
                                      {"labels": st.sampled_from(["up", "{}", "{"]),
                                       "value": SCALARS}), max_size=2)}),
            TREES), max_size=2),
        "bogus": SCALARS,
    },
)
TEST_FILES = st.one_of(
    st.fixed_dictionaries(
        {"tests": st.lists(TEST_GROUP, max_size=2)},
        optional={"evaluation_interval": st.sampled_from(["1m", "0", "15s", "x"]),
                  "rule_files": st.one_of(st.just(["rules.yml"]), TREES)}),
    TREES,
)


@FUZZ
@given(test=TEST_FILES, rules=RULE_FILES)
def test_rule_unit_test_files_pass_or_fail(tmp_path: Path, test: Any, rules: Any) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules), "utf-8")
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(test, allow_unicode=True), "utf-8")
    out = io.StringIO()
    passed = run_test_file(path, out)
    assert ("SUCCESS" in out.getvalue()) == passed

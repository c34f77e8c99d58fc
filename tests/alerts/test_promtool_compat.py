"""CI's check: every rule unit-test file passes both ``promtool test rules`` and ours, and
both tools agree on failures and on ``check rules``."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from alerts_helpers import PROM_DIR, RULE_TESTS

from support import PROMTOOL
from timeline_telemetry.alerts import run_rules_check, run_rules_test

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


def test_there_are_many_rule_test_files() -> None:
    assert len(RULE_TESTS) >= 7


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_ours_passes(path: Path) -> None:
    out = io.StringIO()
    assert run_rules_test([path], out) == 0, out.getvalue()
    assert "SUCCESS" in out.getvalue()


@needs_promtool
@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_passes(path: Path) -> None:
    assert PROMTOOL is not None
    res = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def _broken(tmp_path: Path) -> Path:
    f = tmp_path / "broken.yml"
    f.write_text(f"""
rule_files: [{PROM_DIR / 'alert_rules.yml'}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'system_cpu_usage_percent'
        values: '90x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: HighCPUUsage
        exp_alerts:
          - exp_labels: {{severity: warning}}
""")
    return f


def test_a_wrong_expectation_fails_in_ours(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_rules_test([_broken(tmp_path)], out) == 1
    text = out.getvalue()
    assert "FAILED" in text and "alertname: HighCPUUsage, time: 4m" in text


@needs_promtool
def test_a_wrong_expectation_fails_in_promtool_too(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    res = subprocess.run([PROMTOOL, "test", "rules", str(_broken(tmp_path))],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 1


def test_check_rules_on_the_shipped_file() -> None:
    out = io.StringIO()
    assert run_rules_check([PROM_DIR / "alert_rules.yml"], out) == 0
    assert "SUCCESS: 5 rules found" in out.getvalue()


@needs_promtool
def test_promtool_agrees_on_the_shipped_file() -> None:
    assert PROMTOOL is not None
    res = subprocess.run([PROMTOOL, "check", "rules", str(PROM_DIR / "alert_rules.yml")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0 and "SUCCESS: 5 rules found" in res.stdout


@pytest.mark.parametrize(
    ("expr", "construct"),
    [
        ("histogram_quantile(0.9, rate(x_bucket[5m]))", "the function histogram_quantile()"),
        ("topk(3, x)", "the aggregation topk()"),
        ("rate(x[5m:1m])", "subqueries"),
        ("x @ 100", "the @ modifier"),
        ('{job="a"}', "selectors without a metric name"),
    ],
)
def test_unsupported_constructs_are_refused_naming_rule_and_construct(
    tmp_path: Path, expr: str, construct: str
) -> None:
    f = tmp_path / "r.yml"
    f.write_text(f"groups:\n  - name: g\n    rules:\n      - alert: Bad\n        expr: '{expr}'\n")
    out = io.StringIO()
    assert run_rules_check([f], out) == 1
    text = out.getvalue()
    assert "alert='Bad'" in text and construct in text, text


@pytest.mark.parametrize(
    "body",
    [
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'x >'\n",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        for: 5x\n",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x\n        bogus: 1\n",
        "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
    ],
    ids=["syntax", "duration", "unknown-key", "duplicate-group"],
)
def test_invalid_files_fail_in_both(tmp_path: Path, body: str) -> None:
    f = tmp_path / "r.yml"
    f.write_text(body)
    assert run_rules_check([f], io.StringIO()) == 1
    if PROMTOOL is not None:
        res = subprocess.run([PROMTOOL, "check", "rules", str(f)], capture_output=True,
                             timeout=60, check=False)
        assert res.returncode == 1

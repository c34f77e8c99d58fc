"""``timeline-telemetry rules check|test FILE...``: output and exit codes like promtool's
(0 all good, 1 a file failed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .rules import RuleFileError, load_rule_file
from .ruletest import run_test_file

__all__ = ["run_rules_check", "run_rules_test"]


def run_rules_check(files: Sequence[str | Path], out: TextIO) -> int:
    """Check rule files like ``promtool check rules``; 0 if all pass, else 1."""
    failed = False
    for f in files:
        print(f"Checking {f}", file=out)
        try:
            groups = load_rule_file(Path(f))
        except RuleFileError as exc:
            print(f"  FAILED:\n{exc}\n", file=out)
            failed = True
            continue
        n = sum(len(g.rules) for g in groups)
        print(f"  SUCCESS: {n} rules found\n", file=out)
    return 1 if failed else 0


def run_rules_test(files: Sequence[str | Path], out: TextIO) -> int:
    """Run rule unit-test files like ``promtool test rules``; 0 if all pass, else 1."""
    ok = True
    for f in files:
        ok = run_test_file(Path(f), out) and ok
    return 0 if ok else 1

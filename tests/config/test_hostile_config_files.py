"""Malformed and hostile config files through the real CLI: ``config validate`` and ``run``
print one line naming file (or JSON path), position and problem, and exit 2; never a
traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_process import run_cli

# (file content, the line expected; "{f}" is the file's path)
CASES: dict[str, tuple[bytes, str]] = {
    "deep-arrays": (b'{"telemetry": ' + b"[" * 100_000,
                    "{f}: nested too deeply at line 1, column 78: more than 64 levels of "
                    "objects/lists"),
    "deep-objects": (b'{"a":' * 50_000,
                     "{f}: nested too deeply at line 1, column 321: more than 64 levels"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00\xff",
               "{f}: contains a NUL byte; is this a binary file? The config file must be "
               "UTF-8 text (at line 1, column 8)"),
    "latin-1": ('{"telemetry": {"service_name": "caf\u00e9"}}'.encode("latin-1"),
                "{f}: not UTF-8 text (byte 0xe9); is this a binary file? The config file must "
                "be UTF-8 text (at line 1, column 36)"),
    "oversized": (b'{"telemetry": {}}' + b" " * (2 * 1024 * 1024),
                  "{f}: the config file is 2.0 MiB; at most 1.0 MiB is accepted"),
    "syntax": (b'{"telemetry": {\n  "enabled": true\n  "x": 1}}',
               "{f}: invalid JSON at line 3, column 3: Expecting ',' delimiter"),
    "huge-integer": (b'{"telemetry": {"metrics": {"collection_interval": ' + b"9" * 5000
                     + b"}}}", "{f}: invalid JSON: Exceeds the limit (4300 digits)"),
    "absurd-duration": (b'{"telemetry": {"metrics": {"collection_interval": '
                        b'"99999999999999999999d"}}}',
                        'telemetry.metrics.collection_interval: "99999999999999999999d" is '
                        "longer than 100 years (accepted: 0s to 36500d, i.e. 100 years)"),
    "huge-duration-digits": (b'{"telemetry": {"metrics": {"collection_interval": "'
                             + b"9" * 5000 + b's"}}}',
                             "telemetry.metrics.collection_interval: \"999"),
    "top-level-list": (b"[1, 2]", '(top level): expected an object with a "telemetry" key'),
    "telemetry-true": (b'{"telemetry": true}', "telemetry: expected an object {...}, got true"),
    "metrics-list": (b'{"telemetry": {"metrics": []}}',
                     "telemetry.metrics: expected an object {...}, got a list"),
    "exporter-int": (b'{"telemetry": {"metrics": {"exporters": [1]}}}',
                     "telemetry.metrics.exporters[0]"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_config_validate_names_file_position_and_problem(
    tmp_path: Path, app_home: Path, case: str
) -> None:
    body, expected = CASES[case]
    f = tmp_path / "c.json"
    f.write_bytes(body)
    res = run_cli("config", "validate", str(f), home=app_home, timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert expected.replace("{f}", str(f)) in res.stderr, res.stderr
    assert res.stderr.splitlines()[-1] == f"timeline-telemetry: {f}: 1 problem"


@pytest.mark.parametrize("case", ["deep-arrays", "binary", "absurd-duration"])
def test_run_refuses_to_start_with_exit_2(tmp_path: Path, app_home: Path, case: str) -> None:
    body, expected = CASES[case]
    f = tmp_path / "c.json"
    f.write_bytes(body)
    res = run_cli("run", "--headless", "--config", str(f), home=app_home, timeout=30)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"timeline-telemetry: invalid configuration ({f}):" in res.stderr
    assert expected.replace("{f}", str(f)) in res.stderr, res.stderr
    assert not (app_home / "data" / "history.sqlite3").exists()

"""docs/architecture.md against the code, so the reference cannot drift: every key the config
loader accepts is in its key tables, its copy of the import contracts is pyproject's, and no
doc or source points at an issue number (they name "the design document")."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from timeline_telemetry.config import alerts as alert_kinds
from timeline_telemetry.config import exporters as exporter_kinds
from timeline_telemetry.config import health_checks as check_kinds
from timeline_telemetry.config.schema import TelemetryConfig, json_keys

ROOT = Path(__file__).resolve().parents[1]
ARCH = (ROOT / "docs" / "architecture.md").read_text()

#: Keys every kind of a family takes, documented once in the prose above its table.
PROSE_KEYS = {"check": {"name", "timeout"}, "action": {"name"}, "exporter": set()}


def _section_keys(cls: type, prefix: str) -> Iterator[str]:
    """The dotted keys of a config section; nested sections are walked, not listed."""
    default = cls()
    for f in fields(cls):
        if not f.metadata.get("json", True):
            continue
        key = f"{prefix}.{f.name}" if prefix else f.name
        if is_dataclass(getattr(default, f.name)):
            yield from _section_keys(type(getattr(default, f.name)), key)
        else:
            yield key


def _kind_tables() -> dict[str, set[str]]:
    """Per kind, the keys its rows in the doc's kind tables name (``| `Kind` | `key` |``,
    continued by ``| | `key` |``); ``a`` / ``b`` cells name both."""
    out: dict[str, set[str]] = {}
    kind = ""
    for line in ARCH.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]  # "\|" is in a cell
        if len(cells) != 5 or not cells[1].startswith("`"):
            kind = "" if len(cells) != 5 else kind
            continue
        if cells[0]:
            kind = cells[0].strip("`")
        if kind:
            out.setdefault(kind, set()).update(re.findall(r"`([\w.]+)`", cells[1]))
    return out


def _shared_keys(kind: str) -> set[str]:
    """Keys that several kinds take, in a table of their own after a sentence naming the
    kinds: "`A`, `B` and `C` also take:"."""
    out: set[str] = set()
    for m in re.finditer(r"((?:`\w+`(?:, | and ))*`\w+`) also take:\n\n((?:\|.*\n)+)", ARCH):
        if f"`{kind}`" in m.group(1):
            out.update(re.findall(r"^\| `(\w+)` \|", m.group(2), re.M))
    return out


def test_every_section_key_is_in_the_key_table() -> None:
    missing = [k for k in _section_keys(TelemetryConfig, "") if f"| `{k}` |" not in ARCH]
    assert missing == [], f"keys accepted but not in docs/architecture.md: {missing}"


@pytest.mark.parametrize(("family", "kinds"), [
    ("exporter", exporter_kinds._KINDS),
    ("check", {k: cls for k, (cls, _) in check_kinds._KINDS.items()}),
    ("action", {k: cls for k, (cls, _) in alert_kinds._KINDS.items()}),
])
def test_every_kind_key_is_in_its_table(family: str, kinds: dict[str, type]) -> None:
    tables = _kind_tables()
    missing: list[str] = []
    for kind, cls in kinds.items():
        documented = tables.get(kind, set()) | PROSE_KEYS[family] | _shared_keys(kind)
        for key in json_keys(cls):
            if key not in documented and not any(d.startswith(f"{key}.") for d in documented):
                missing.append(f"{kind}.{key}")
    assert missing == [], f"{family} keys accepted but not in docs/architecture.md: {missing}"


def test_the_documented_import_contracts_are_pyprojects() -> None:
    block = re.search(r"```toml\n(\[tool\.importlinter\].*?)```", ARCH, re.S)
    assert block is not None
    documented = tomllib.loads(block.group(1))["tool"]["importlinter"]
    actual = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert documented == actual


def test_no_issue_numbers_in_code_or_docs() -> None:
    pattern = re.compile(r"\b[Ii]ssues?\s+#?\d+|\b[Ii]ssue\s+\d+'s\b")
    found: list[str] = []
    for top in ("desktop", "docs", "tests", "bench", "packaging", "resources", "README.md"):
        base = ROOT / top
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if (path.suffix not in {".py", ".md", ".sh", ".yml", ".yaml", ".toml", ".txt"}
                    or "node_modules" in path.parts or not path.is_file()):
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == [], "name the design document, not issue numbers:\n" + "\n".join(found)

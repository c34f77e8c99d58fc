"""Every config snippet in the README is valid config (a snippet that is one section is
wrapped in ``{"telemetry": {...}}``), so the docs cannot drift from the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from timeline_telemetry.config import parse_config

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```json\n(.*?)```", README.read_text(), re.S)


def test_readme_has_config_snippets() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"snippet{i}" for i in range(len(BLOCKS))])
def test_readme_snippet_is_valid_config(block: str, tmp_path: Path) -> None:
    text = block.strip()
    data = json.loads(text if text.startswith("{") else "{" + text + "}")
    if "telemetry" not in data:
        data = {"telemetry": data}
    parse_config(data, source="README", base_dir=tmp_path)

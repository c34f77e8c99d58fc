"""The bounded reader behind config files and rule files: size, encoding, depth, aliases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from timeline_telemetry.config import ConfigError, load_config, validate_file
from timeline_telemetry.config.safe_load import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    FileLoadError,
    Position,
    YamlMap,
    YamlSeq,
    decode_text,
    load_json,
    load_yaml,
    read_text,
)

#: The classic "billion laughs" in YAML: nine anchors, each a list of nine aliases of the
#: previous one; fully expanded it is 9**9 strings.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi",
                                                                  strict=True)]
) + "\n"


def test_the_alias_bomb_is_refused_at_its_first_anchor() -> None:
    started = time.monotonic()
    with pytest.raises(FileLoadError) as info:
        load_yaml(ALIAS_BOMB, where="bomb.yml")
    assert time.monotonic() - started < 5  # refused while composing, nothing expanded
    assert str(info.value).startswith("bomb.yml:1:4: YAML anchor &a is not accepted")


def test_an_alias_alone_is_refused_with_its_position() -> None:
    with pytest.raises(FileLoadError) as info:
        load_yaml("groups:\n  - name: x\n    rules: *r\n", where="r.yml")
    assert str(info.value).startswith("r.yml:3:12: YAML alias *r is not accepted")


@pytest.mark.parametrize("text", ["[" * 100_000, "a:\n" + "".join(
    "  " * i + f"k{i}:\n" for i in range(1, 200)), "- " * 5_000 + "x"])
def test_deep_yaml_is_refused_without_recursing(text: str) -> None:
    with pytest.raises(FileLoadError, match=f"nested too deeply: more than {MAX_DEPTH} levels"):
        load_yaml(text, where="deep.yml")


def test_yaml_at_the_depth_cap_loads() -> None:
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, where="ok.yml") is not None


def test_yaml_positions_are_kept() -> None:
    doc = load_yaml("groups:\n  - name: a\n    rules: x\n", where="p.yml")
    assert isinstance(doc, YamlMap)
    groups = doc["groups"]
    assert isinstance(groups, YamlSeq)
    assert groups.item_pos == [Position(2, 5)]
    assert groups[0].value_pos["rules"] == Position(3, 12)


def test_yaml_duplicate_keys_are_recorded() -> None:
    doc = load_yaml("a: 1\nb: 2\na: 3\n", where="d.yml")
    assert isinstance(doc, YamlMap)
    assert doc == {"a": 3, "b": 2}
    assert doc.duplicates == [("a", Position(3, 1))]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [1, 2\n", "d.yml:2:1: invalid YAML: while parsing a flow sequence"),
        ("x: 2001-13-45\n", "d.yml: invalid YAML value: month must be in 1..12"),
        ("x: " + "9" * 5000 + "\n", "d.yml: invalid YAML value: Exceeds the limit"),
        ("? [a]\n: b\n", "d.yml:1:3: invalid YAML: while constructing a mapping"),
    ],
)
def test_bad_yaml_is_one_line_with_position(text: str, problem: str) -> None:
    with pytest.raises(FileLoadError) as info:
        load_yaml(text, where="d.yml")
    assert str(info.value).startswith(problem), str(info.value)
    assert "\n" not in str(info.value)


def test_deep_json_is_refused_without_recursing() -> None:
    with pytest.raises(FileLoadError) as info:
        load_json("[" * 1_000_000, where="c.json")
    assert str(info.value) == (f"c.json:1:{MAX_DEPTH + 1}: nested too deeply: more than "
                               f"{MAX_DEPTH} levels of objects/lists")
    # Brackets inside strings are text, not nesting.
    assert load_json('["' + "[" * 1000 + '\\"{"]', where="c.json") == ["[" * 1000 + '"{']


def test_json_at_the_depth_cap_loads() -> None:
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, where="c.json") is not None


def test_decode_refuses_binary_and_oversize() -> None:
    with pytest.raises(FileLoadError) as info:
        decode_text(b"ok\n\x00\x01", where="b", max_bytes=100, kind="rule file")
    assert str(info.value) == ("b:2:1: contains a NUL byte; is this a binary file? "
                               "The rule file must be UTF-8 text")
    with pytest.raises(FileLoadError) as info:
        decode_text(b"ab\ncd\xff", where="b", max_bytes=100, kind="rule file")
    assert str(info.value).startswith("b:2:3: not UTF-8 text (byte 0xff)")
    with pytest.raises(FileLoadError, match="at most 10 bytes is accepted"):
        decode_text(b"x" * 11, where="b", max_bytes=10, kind="rule file")
    assert decode_text(b"\xef\xbb\xbfx", where="b", max_bytes=10, kind="rule file") == "x"


def test_read_text_reads_no_more_than_the_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(FileLoadError) as info:
        read_text(big, max_bytes=MAX_CONFIG_BYTES, kind="config file")
    assert str(info.value) == f"{big}: the config file is 1.0 MiB; at most 1.0 MiB is accepted"
    with pytest.raises(FileLoadError, match="cannot read the config file"):
        read_text(tmp_path, max_bytes=10, kind="config file")


def test_config_loading_uses_the_bounds(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"telemetry": ' + "[" * 100_000)
    (problem,) = validate_file(deep)
    assert str(problem) == (f"{deep}: nested too deeply at line 1, column 78: more than "
                            f"{MAX_DEPTH} levels of objects/lists")
    big = tmp_path / "big.json"
    big.write_text('{"telemetry": {}}' + " " * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match=r"at most 1\.0 MiB is accepted"):
        load_config(big)
    digits = tmp_path / "digits.json"
    digits.write_text('{"telemetry": {"metrics": {"collection_interval": ' + "9" * 5000 + "}}}")
    (problem,) = validate_file(digits)
    assert problem.path == str(digits) and problem.message.startswith("invalid JSON")

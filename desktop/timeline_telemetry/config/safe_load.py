"""Reading config files (JSON) and rule files (YAML) that any local process could have written.

The one loader behind ``config validate``, ``rules check``/``rules test`` and the agent's
start. Every input is bounded before it is decoded: a size cap (read at most cap + 1
bytes), UTF-8 text only (a NUL byte or an invalid sequence is reported as a binary file), a
nesting-depth cap checked without recursion, and in YAML no anchors or aliases at all (a
rule file never needs them, and a 590-byte alias bomb would otherwise expand to gigabytes).
Every refusal is a :class:`FileLoadError` whose text is one line: file, line:column where
known, and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_RULE_FILE_BYTES",
    "FileLoadError",
    "Position",
    "YamlMap",
    "YamlSeq",
    "decode_text",
    "load_json",
    "load_yaml",
    "read_text",
]

_MIB = 1024 * 1024
#: A config file is a few KiB; 1 MiB leaves room and keeps a stray huge file out.
MAX_CONFIG_BYTES = 1 * _MIB
#: Rule files and rule unit-test files (input series can be long).
MAX_RULE_FILE_BYTES = 4 * _MIB
#: Objects/lists (JSON) or mappings/sequences (YAML) inside each other.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Position:
    """A place in a text file, both 1-based."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class FileLoadError(Exception):
    """A file is refused before its content is looked at: unreadable, too large, binary,
    nested too deeply, not valid JSON/YAML, or a YAML alias. ``str()`` is one line."""

    def __init__(self, file: str, problem: str, position: Position | None = None) -> None:
        self.file = file
        self.problem = problem
        self.position = position
        where = f"{file}:{position}" if position is not None else file
        super().__init__(f"{where}: {problem}")


def _size(n: int) -> str:
    return f"{n / _MIB:.1f} MiB" if n >= _MIB else f"{n} bytes"


def _position_of_byte(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return Position(raw.count(b"\n", 0, offset) + 1, offset - line_start + 1)


def _position_of_char(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def read_text(path: Path, *, max_bytes: int, kind: str) -> str:
    """The file's text; ``kind`` (``"config file"``, ``"rule file"``) goes into messages.

    Reads at most ``max_bytes + 1`` bytes, so a huge file (or ``/dev/zero``) costs nothing.
    """
    where = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise FileLoadError(where, f"cannot read the {kind}: {exc.strerror or exc}") from None
    return decode_text(raw, where=where, max_bytes=max_bytes, kind=kind)


def decode_text(raw: bytes, *, where: str, max_bytes: int, kind: str) -> str:
    """``raw`` as text: at most ``max_bytes``, UTF-8 (a BOM is dropped), no NUL bytes."""
    if len(raw) > max_bytes:
        try:
            size = f"is {_size(Path(where).stat().st_size)}"
        except (OSError, ValueError):
            size = f"is larger than {_size(max_bytes)}"
        raise FileLoadError(where, f"the {kind} {size}; at most {_size(max_bytes)} is accepted")
    nul = raw.find(b"\x00")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if nul == -1 or nul > exc.start:
            raise FileLoadError(
                where,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); is this a binary file? "
                f"The {kind} must be UTF-8 text",
                _position_of_byte(raw, exc.start),
            ) from None
        text = ""
    if nul != -1:
        raise FileLoadError(
            where,
            f"contains a NUL byte; is this a binary file? The {kind} must be UTF-8 text",
            _position_of_byte(raw, nul),
        )
    return text


# A JSON string (possibly unterminated) or one bracket: the depth scan skips strings whole.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)


def _check_json_depth(text: str, where: str, max_depth: int) -> None:
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                raise FileLoadError(
                    where,
                    f"nested too deeply: more than {max_depth} levels of objects/lists",
                    _position_of_char(text, m.start()),
                )
        elif c in "]}":
            depth -= 1


def load_json(
    text: str,
    *,
    where: str,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> object:
    """Decode JSON after checking its nesting depth; a syntax error names line and column."""
    _check_json_depth(text, where, max_depth)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise FileLoadError(
            where, f"invalid JSON: {exc.msg}", Position(exc.lineno, exc.colno)
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        raise FileLoadError(where, f"invalid JSON: {exc}") from None


class YamlMap(dict[Any, Any]):
    """A YAML mapping that knows where it and each of its values start."""

    start: Position = Position(1, 1)
    value_pos: dict[Any, Position]
    duplicates: list[tuple[Any, Position]]


class YamlSeq(list[Any]):
    """A YAML sequence that knows where it and each of its items start."""

    start: Position = Position(1, 1)
    item_pos: list[Position]


def _mark(mark: Any) -> Position | None:
    return None if mark is None else Position(mark.line + 1, mark.column + 1)


class _Refused(Exception):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.position = _mark(mark)


class _BoundedLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing anchors/aliases and deep nesting as it composes
    (before anything is expanded), and recording positions (:class:`YamlMap`,
    :class:`YamlSeq`)."""

    def __init__(self, stream: str, max_depth: int) -> None:
        super().__init__(stream)
        self.max_depth = max_depth
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"YAML alias *{event.anchor} is not accepted (anchors and aliases "
                           "are refused here: write the value out)", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(f"YAML anchor &{anchor} is not accepted (anchors "
                           "and aliases are refused here: write the value out)",
                           event.start_mark)
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nested:
            self.depth += 1
            if self.depth > self.max_depth:
                raise _Refused(f"nested too deeply: more than {self.max_depth} levels of "
                               "mappings/lists", event.start_mark)
        try:
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            if nested:
                self.depth -= 1


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[YamlMap]:
    data = YamlMap()
    data.start = _mark(node.start_mark) or Position(1, 1)
    data.value_pos = {}
    data.duplicates = []
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found an unhashable key", key_node.start_mark) from None
        pos = _mark(value_node.start_mark) or data.start
        if key in data:
            data.duplicates.append((key, _mark(key_node.start_mark) or pos))
        data[key] = loader.construct_object(value_node)
        data.value_pos[key] = pos


def _construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Iterator[YamlSeq]:
    data = YamlSeq()
    data.start = _mark(node.start_mark) or Position(1, 1)
    data.item_pos = []
    yield data
    for child in node.value:
        data.append(loader.construct_object(child))
        data.item_pos.append(_mark(child.start_mark) or data.start)


_BoundedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_BoundedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, *, where: str, max_depth: int = MAX_DEPTH) -> object:
    """One YAML document with the safe loader's types; mappings are :class:`YamlMap` and
    sequences :class:`YamlSeq`. Anchors, aliases and nesting beyond ``max_depth`` are
    refused while composing, so nothing is ever expanded."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text, max_depth)  # checks for unprintable characters
        return loader.get_single_data()
    except _Refused as exc:
        raise FileLoadError(where, exc.problem, exc.position) from None
    except yaml.reader.ReaderError as exc:
        raise FileLoadError(
            where,
            f"invalid YAML: control character U+{exc.character:04X} is not allowed",
            _position_of_char(text, exc.position) if isinstance(exc.position, int) else None,
        ) from None
    except yaml.MarkedYAMLError as exc:
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        mark = exc.problem_mark or exc.context_mark
        raise FileLoadError(where, f"invalid YAML: {_one_line(problem)}", _mark(mark)) from None
    except yaml.YAMLError as exc:
        raise FileLoadError(where, f"invalid YAML: {_one_line(str(exc))}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # The safe constructor's own conversions: a timestamp such as 2001-13-45, an
        # integer of thousands of digits.
        raise FileLoadError(where, f"invalid YAML value: {_one_line(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _one_line(text: str) -> str:
    return " ".join(text.split())

"""Reading JSON objects into typed values while collecting every problem (internal).

Readers never raise on bad input: they record a :class:`ConfigProblem` and return the
default, so one pass reports everything. The loader raises if any problem was recorded.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from .durations import parse_duration
from .errors import ConfigProblem
from .secrets import SECRET_SCHEMES, SecretError, validate_secret_name

T = TypeVar("T")


class DuplicateKeysDict(dict[str, object]):
    """A JSON object that remembers keys given more than once (the last value wins in json)."""

    duplicates: tuple[str, ...] = ()


def object_pairs_hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json.loads`` hook that records duplicate keys instead of silently dropping values."""
    out = DuplicateKeysDict()
    seen: list[str] = []
    for key, value in pairs:
        if key in out and key not in seen:
            seen.append(key)
        out[key] = value
    out.duplicates = tuple(seen)
    return out


@dataclass(frozen=True)
class Bad:
    """A failed check: why the value is not accepted (a message for a ConfigProblem)."""

    message: str


@dataclass
class Context:
    """Shared state of one parse: where relative paths start, and the problems so far."""

    base_dir: Path
    problems: list[ConfigProblem] = field(default_factory=list)
    files: dict[Path, str] = field(default_factory=dict)

    def problem(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(ConfigProblem(path, message))

    def claim_file(self, path: Path, where: str) -> None:
        """Note that the setting at ``where`` writes ``path``; report a second writer."""
        other = self.files.setdefault(path, where)
        if other != where:
            self.problem(where, f"writes the same file as {other} ({path}); "
                                "give each its own path")

    def resolve_path(self, text: str) -> Path:
        """``~`` expanded, relative to ``base_dir``, absolute and normalised (no ``..``).

        Symlinks are not followed: the file may not exist yet.
        """
        p = Path(text).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else self.base_dir / p))


def show(value: object) -> str:
    """A JSON value as the user wrote it, shortened, for messages."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt_num(value: float) -> str:
    return f"{value:g}"


class ObjectReader:
    """Reads the known keys of one JSON object at ``path`` (e.g. ``telemetry.metrics``).

    On creation it reports a non-object value, unknown keys (listing the accepted ones) and
    duplicate keys. Each typed getter returns the value, or ``default`` after recording why
    the given value is wrong; :meth:`require` reports a missing required key.
    """

    def __init__(
        self, ctx: Context, path: str, data: object, accepted: Iterable[str]
    ) -> None:
        self.ctx = ctx
        self.base = path
        self.accepted = tuple(accepted)
        if isinstance(data, dict):
            self.data: dict[str, object] = data
        else:
            ctx.problem(path, f"expected an object {{...}}, got {show(data)}")
            self.data = {}
        accepted_text = ", ".join(self.accepted) if self.accepted else "none"
        for key in self.data:
            if key not in self.accepted:
                ctx.problem(self.path(key), f"unknown key (accepted: {accepted_text})")
        for key in getattr(self.data, "duplicates", ()):
            ctx.problem(self.path(key), "given more than once; keep one")

    def path(self, key: str) -> str:
        """The JSON path of ``key`` in this object."""
        return f"{self.base}.{key}" if self.base else key

    def has(self, key: str) -> bool:
        """Whether ``key`` was given (and is an accepted key)."""
        return key in self.data and key in self.accepted

    def require(self, key: str, what: str) -> bool:
        """Report ``key`` as missing if absent; ``what`` describes the expected value."""
        if key in self.data:
            return True
        self.ctx.problem(self.path(key), f"missing; required: {what}")
        return False

    def get(self, key: str, default: T, convert: Callable[[object], T | Bad]) -> T:
        """``convert(value)`` returns the typed value or a ``Bad`` saying why not."""
        if not self.has(key):
            return default
        result = convert(self.data[key])
        if isinstance(result, Bad):
            self.ctx.problem(self.path(key), result.message)
            return default
        return result

    # -- scalars ------------------------------------------------------------------------
    def get_bool(self, key: str, default: bool) -> bool:
        """A JSON ``true``/``false``."""
        return self.get(key, default, check_bool)

    def get_str(
        self,
        key: str,
        default: str,
        *,
        choices: tuple[str, ...] = (),
        nonempty: bool = False,
        upper: bool = False,
    ) -> str:
        """A string, optionally one of ``choices`` (compared upper-cased when ``upper``)."""

        def convert(value: object) -> str | Bad:
            if not isinstance(value, str):
                return Bad(f"expected a string, got {show(value)}")
            if upper:
                value = value.upper()
            if choices and value not in choices:
                return Bad(f"{show(value)} is not accepted (accepted: {', '.join(choices)})")
            if nonempty and not value.strip():
                return Bad("must not be empty")
            return value

        return self.get(key, default, convert)

    def get_int(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """An integer within ``[minimum, maximum]``."""

        def convert(value: object) -> int | Bad:
            if not isinstance(value, int) or isinstance(value, bool):
                return Bad(f"expected an integer, got {show(value)}")
            if (minimum is not None and value < minimum) or (
                maximum is not None and value > maximum
            ):
                return Bad(f"{value} is out of range (accepted: {_range(minimum, maximum)})")
            return value

        return self.get(key, default, convert)

    def get_float(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        """A finite number within ``[minimum, maximum]`` (integers accepted)."""

        def convert(value: object) -> float | Bad:
            return check_number(value, minimum, maximum)

        return self.get(key, default, convert)

    def get_duration(self, key: str, default: float, *, allow_zero: bool = False) -> float:
        """A duration string such as ``"5s"``, returned in seconds (> 0 unless ``allow_zero``)."""

        def convert(value: object) -> float | Bad:
            if not isinstance(value, str):
                return Bad(f'expected a duration string such as "5s", got {show(value)}')
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                return Bad(str(exc))
            if seconds == 0 and not allow_zero:
                return Bad(f"{show(value)} must be longer than zero")
            return seconds

        return self.get(key, default, convert)

    def path_or_none(self, key: str, default: Path | None) -> Path | None:
        """A file path string (resolved, see :meth:`Context.resolve_path`) or ``null``."""

        def convert(value: object) -> Path | Bad | None:
            if value is None:
                return None
            if not isinstance(value, str) or not value.strip():
                return Bad(f"expected a file path string or null, got {show(value)}")
            return self.ctx.resolve_path(value)

        return self.get(key, default, convert)

    # -- lists ------------------------------------------------------------------------
    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A list of non-empty strings."""
        if not self.has(key):
            return default
        items = self.list_items(key)
        out: list[str] = []
        for i, item in items:
            if isinstance(item, str) and item.strip():
                out.append(item)
            else:
                self.ctx.problem(
                    f"{self.path(key)}[{i}]", f"expected a non-empty string, got {show(item)}"
                )
        return tuple(out)

    def list_items(self, key: str) -> list[tuple[int, object]]:
        """The ``(index, item)`` pairs of a list value; reports a non-list (returns [])."""
        value = self.data.get(key)
        if not isinstance(value, list):
            self.ctx.problem(self.path(key), f"expected a list [...], got {show(value)}")
            return []
        return list(enumerate(value))

    # -- nested objects ---------------------------------------------------------------------
    def section(self, key: str, parse: Callable[[Context, str, object], T], default: T) -> T:
        """Parse a nested object with ``parse(ctx, path, value)``; ``default`` if absent."""
        if not self.has(key):
            return default
        return parse(self.ctx, self.path(key), self.data[key])


def check_bool(value: object) -> bool | Bad:
    """``value`` if it is a JSON boolean, else why not."""
    if isinstance(value, bool):
        return value
    return Bad(f"expected true or false, got {show(value)}")


def check_number(
    value: object, minimum: float | None = None, maximum: float | None = None
) -> float | Bad:
    """``value`` as a float if it is a finite number in range, else why not."""
    if not _is_number(value):
        return Bad(f"expected a number, got {show(value)}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return Bad(f"expected a finite number, got {show(value)}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return Bad(f"{_fmt_num(number)} is out of range (accepted: {_range(minimum, maximum)})")
    return number


def _range(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{_fmt_num(minimum)} to {_fmt_num(maximum)}"
    if minimum is not None:
        return f"{_fmt_num(minimum)} or more"
    return f"{_fmt_num(maximum or 0)} or less"


def _secret_ref(value: str) -> str | Bad | None:
    """None unless ``value`` starts like a secret reference; then ``value`` if its name is
    well formed, else why not."""
    for scheme in SECRET_SCHEMES:
        prefix = f"{scheme}:"
        if value.startswith(prefix):
            try:
                validate_secret_name(value[len(prefix):])
            except SecretError as exc:
                return Bad(f"{show(value)}: {exc}")
            return value
    return None


def check_secret_ref(ctx: Context, path: str, value: str) -> None:
    """Report ``value`` at ``path`` if it starts like a secret reference but is malformed."""
    ref = _secret_ref(value)
    if isinstance(ref, Bad):
        ctx.problem(path, ref.message)


def check_http_url(value: object, example: str) -> str | Bad:
    """An http:// or https:// URL with a host; ``example`` goes into the error message.

    An ``env:NAME`` / ``keyring:NAME`` reference is accepted as the design document and the
    README spell it: only its name is checked here, the URL it holds is checked where it is
    resolved (at use, so a rotated value is picked up and nothing secret sits in the config).
    """
    if isinstance(value, str):
        ref = _secret_ref(value)
        if ref is not None:
            return ref
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return value
    return Bad(f'expected an http:// or https:// URL such as "{example}", got {show(value)}')


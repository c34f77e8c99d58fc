"""Turning JSON into a :class:`TelemetryConfig`: from data, from a file, from a preset.

Every problem is collected and raised together as one :class:`ConfigError`. Relative file
paths resolve against ``base_dir``: the config file's directory, or for a preset the data dir.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from timeline_telemetry.paths import AppPaths

from ._reader import Context, object_pairs_hook, show
from .errors import ConfigError, ConfigProblem
from .safe_load import MAX_CONFIG_BYTES, FileLoadError, load_json, read_text
from .schema import TelemetryConfig
from .sections import parse_telemetry

__all__ = [
    "PRESET_NAMES",
    "load_config",
    "load_preset",
    "parse_config",
    "parse_json_text",
    "preset_as_file",
    "validate_file",
]

#: ``workstation`` is the default (``lookup.DEFAULT_PRESET``); the other three are the design
#: document's environment examples, unchanged.
PRESET_NAMES = ("workstation", "development", "production", "high-load")
_ROOT_KEY = "telemetry"


def parse_config(data: object, *, source: str, base_dir: Path) -> TelemetryConfig:
    """Validate decoded JSON (``{"telemetry": {...}}``) and build the config.

    Raises :class:`ConfigError` listing every problem (``source`` is kept on the error and
    on the config).
    """
    ctx = Context(base_dir=base_dir.absolute())
    config = TelemetryConfig()
    if not isinstance(data, dict):
        ctx.problem("(top level)", 'expected an object with a "telemetry" key, e.g. '
                                   f'{{"telemetry": {{"enabled": true}}}}, got {show(data)}')
    else:
        for key in data:
            if key != _ROOT_KEY:
                ctx.problem(key, f"unknown top-level key (accepted: {_ROOT_KEY})")
        if _ROOT_KEY in data:
            config = parse_telemetry(ctx, _ROOT_KEY, data[_ROOT_KEY])
        else:
            ctx.problem(_ROOT_KEY, 'missing; a config file is one JSON object with a top-level '
                                   '"telemetry" object, e.g. {"telemetry": {"enabled": true}}')
    if ctx.problems:
        raise ConfigError(ctx.problems, source=source)
    return replace(config, source=source)


def parse_json_text(text: str, *, where: str) -> object:
    """Decode JSON, remembering duplicate keys, nested at most ``MAX_DEPTH`` levels; a
    syntax error names ``where``, line and column."""
    try:
        return load_json(text, where=where, object_pairs_hook=object_pairs_hook)
    except FileLoadError as exc:
        raise _as_config_error(exc) from None


def _as_config_error(exc: FileLoadError) -> ConfigError:
    """One problem named by the file, the position spelled out in the message (a config's
    problems are otherwise named by JSON path)."""
    message = exc.problem
    if exc.position is not None:
        at = f"line {exc.position.line}, column {exc.position.column}"
        head, sep, rest = message.partition(": ")
        message = f"{head} at {at}: {rest}" if sep else f"{message} (at {at})"
    return ConfigError([ConfigProblem(exc.file, message)], source=exc.file)


def load_config(path: Path) -> TelemetryConfig:
    """Read and validate a config file; relative paths inside resolve against its directory.

    The file is read with the bounds of :mod:`.safe_load` (at most ``MAX_CONFIG_BYTES``,
    UTF-8, nested at most ``MAX_DEPTH`` levels); every refusal is a :class:`ConfigError`.
    """
    try:
        text = read_text(path, max_bytes=MAX_CONFIG_BYTES, kind="config file")
    except FileLoadError as exc:
        raise _as_config_error(exc) from None
    data = parse_json_text(text, where=str(path))
    return parse_config(data, source=str(path), base_dir=path.absolute().parent)


def load_preset(name: str, *, base_dir: Path | None = None) -> TelemetryConfig:
    """A built-in preset (``workstation``, ``development``, ``production`` or ``high-load``).

    Relative paths in it resolve against ``base_dir``, by default the user data dir. The
    presets are package data (``timeline_telemetry/config/presets``), copies of the canonical
    files in the repository's ``resources/presets``.
    """
    if name not in PRESET_NAMES:
        raise ConfigError(
            [ConfigProblem("preset", f"unknown preset {show(name)} "
                                     f"(accepted: {', '.join(PRESET_NAMES)})")]
        )
    if base_dir is None:
        base_dir = AppPaths.resolve().data_dir
    from importlib import resources

    source = f"preset {name}"
    text = resources.files(__package__).joinpath("presets", f"{name}.json").read_text("utf-8")
    return parse_config(parse_json_text(text, where=source), source=source, base_dir=base_dir)


def preset_as_file(name: str, *, base_dir: Path) -> str:
    """The preset's JSON text as a config file of its own, for a first ``config.json``.

    A preset resolves relative File exporter paths against ``base_dir`` (the data folder), a
    file against its own folder: the paths are written out absolute, so saving the text as
    the user's config changes nothing about what the monitor does.
    """
    from importlib import resources

    if name not in PRESET_NAMES:
        raise ValueError(f"unknown preset {name!r} (accepted: {', '.join(PRESET_NAMES)})")
    text = resources.files(__package__).joinpath("presets", f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    for section in ("tracing", "metrics"):
        for entry in data.get("telemetry", {}).get(section, {}).get("exporters", []):
            body = entry.get("File") if isinstance(entry, dict) else None
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                path = Path(body["path"]).expanduser()
                body["path"] = str(path if path.is_absolute() else base_dir / path)
    return json.dumps(data, indent=2) + "\n"


def validate_file(path: Path) -> list[ConfigProblem]:
    """The problems of a config file (empty if it is valid); for ``config validate``."""
    try:
        load_config(path)
    except ConfigError as exc:
        return exc.problems
    return []

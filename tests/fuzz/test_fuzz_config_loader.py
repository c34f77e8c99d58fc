"""Fuzzing the config loader: whatever a config file holds, loading it gives a
TelemetryConfig or a ConfigError, never another exception."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from fuzz_support import FUZZ, mutate
from hypothesis import given
from hypothesis import strategies as st

from timeline_telemetry.config import (
    PRESET_NAMES,
    ConfigError,
    TelemetryConfig,
    config_to_json,
    load_config,
)


def _seeds() -> list[Any]:
    """Real configs to mutate: the default with every key, and the presets (exporters,
    checks, alert actions)."""
    seeds: list[Any] = [config_to_json(TelemetryConfig())]
    presets = resources.files("timeline_telemetry.config").joinpath("presets")
    seeds += [json.loads(presets.joinpath(f"{n}.json").read_text("utf-8"))
              for n in PRESET_NAMES]
    return seeds


SEEDS = _seeds()


def _keys(node: Any) -> set[str]:
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            out.update(n)
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return out


KEYS = sorted(set().union(*(_keys(s) for s in SEEDS)))

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["5s", "0s", "1h30m", "99999999999999999999d", "-1s", "127.0.0.1",
                     "http://localhost:4318", "keyring:x", "env:X", "", "INFO",
                     "up > 1", "(" * 300]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                        max_size=4),
    ),
    max_leaves=12,
)


def _mutate(node: Any, data: st.DataObject) -> Any:
    return mutate(node, data, keys=KEYS, json=JSON, scalars=SCALARS, max_depth=6)


def _load(path: Path) -> None:
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    else:
        assert isinstance(config, TelemetryConfig)


@FUZZ
@given(data=st.data())
def test_mutated_configs_load_or_give_config_errors(tmp_path: Path, data: st.DataObject) -> None:
    tree = _mutate(data.draw(st.sampled_from(SEEDS)), data)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tree, allow_nan=True), "utf-8")
    _load(path)


@FUZZ
@given(tree=JSON)
def test_random_json_trees_load_or_give_config_errors(tmp_path: Path, tree: Any) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"telemetry": tree}, allow_nan=True), "utf-8")
    _load(path)


JSONISH = st.text(alphabet='{}[]":,.-+eE0123456789tfnrulasx\\ \n\t\u00e9\u0000', max_size=200)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), JSONISH.map(lambda t: t.encode("utf-8")),
                     st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
                     st.integers(1, 5000).map(lambda n: b'{"telemetry": ' * n)))
def test_garbage_bytes_load_or_give_config_errors(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(raw)
    _load(path)

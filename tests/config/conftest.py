"""Fixtures for the config tests: config files in tmp dirs and keyring backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from memory_keyring import MemoryKeyring


@pytest.fixture
def _restore_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(_restore_keyring: None) -> MemoryKeyring:
    """Install an in-memory keyring as the process-wide backend for one test."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def fail_keyring(_restore_keyring: None) -> None:
    """Install keyring's ``fail.Keyring`` (what you get with no Secret Service)."""
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[..., Path]:
    """Write ``data`` as JSON to ``tmp_path/name`` (or raw text if ``data`` is a str)."""

    def write(data: object, name: str = "config.json") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    return write

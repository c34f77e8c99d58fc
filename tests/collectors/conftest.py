"""Fixtures for the collector tests (helpers live in collector_helpers.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from collector_helpers import PYTHON, CountingPsutil, FakeEditor, ManualClock


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """Links to the Python interpreter under the names the processes should have."""
    d = tmp_path / "bin"
    d.mkdir()
    for name in ("timeline-studio", "ffmpeg", "render-helper"):
        (d / name).symlink_to(PYTHON)
    return d


@pytest.fixture
def fake_editor(bin_dir: Path) -> Iterator[FakeEditor]:
    """A started stand-in editor; it and its children are killed after the test."""
    editor = FakeEditor(bin_dir)
    editor.start()
    try:
        yield editor
    finally:
        kids: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            kids = psutil.Process(editor.pid).children(recursive=True)
        for kid in kids:  # idle ones would exit on stdin EOF; burners would not
            with contextlib.suppress(psutil.NoSuchProcess):
                kid.kill()
        editor.kill()


@pytest.fixture
def counting_psutil() -> CountingPsutil:
    """The real psutil module with a counter on process_iter."""
    return CountingPsutil()


@pytest.fixture
def clock() -> ManualClock:
    """A monotonic clock advanced by hand."""
    return ManualClock()

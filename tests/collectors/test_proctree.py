"""How editor processes are recognised by name."""

from __future__ import annotations

import pytest

from timeline_telemetry.collectors.proctree import executable_stem, matches_names

WANTED = frozenset({"timeline-studio"})


@pytest.mark.parametrize(
    ("raw", "stem"),
    [
        ("timeline-studio", "timeline-studio"),
        ("Timeline-Studio.EXE", "timeline-studio"),
        ("C:\\Program Files\\Timeline Studio\\timeline-studio.exe", "timeline-studio"),
        ("/opt/timeline/timeline-studio", "timeline-studio"),
        ("ffmpeg.exe", "ffmpeg"),
    ],
)
def test_executable_stem(raw: str, stem: str) -> None:
    assert executable_stem(raw) == stem


@pytest.mark.parametrize(
    "info",
    [
        {"name": "timeline-studio", "exe": None, "cmdline": None},
        {"name": "TIMELINE-STUDIO.EXE", "exe": "", "cmdline": []},
        {"name": "MainThread", "exe": "/usr/lib/ts/timeline-studio", "cmdline": ["x"]},
        {"name": "python3", "exe": None, "cmdline": ["/opt/ts/timeline-studio", "--gpu"]},
    ],
)
def test_matches_by_name_exe_or_argv0(info: dict[str, object]) -> None:
    assert matches_names(info, WANTED)


@pytest.mark.parametrize(
    "info",
    [
        {"name": "python3", "exe": "/usr/bin/python3", "cmdline": ["python3", "timeline-studio"]},
        {"name": "timeline-studio-helper", "exe": None, "cmdline": None},
        {"name": None, "exe": None, "cmdline": None},
    ],
)
def test_does_not_match_arguments_or_prefixes(info: dict[str, object]) -> None:
    assert not matches_names(info, WANTED)

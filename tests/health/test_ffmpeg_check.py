"""FfmpegHealthCheck against the real ffmpeg (Debian package ``ffmpeg``), with PATH set by the
test: present, absent, an encoder missing, a broken binary, and the probe cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from timeline_telemetry.health import FfmpegHealthCheck, HealthStatus, parse_encoders


def test_present_on_path(ffmpeg_dir: Path) -> None:
    check = FfmpegHealthCheck(["libx264"], environ={"PATH": str(ffmpeg_dir)})
    r = check.check()
    assert r.status is HealthStatus.HEALTHY, r.message
    assert r.metadata["path"] == str(ffmpeg_dir / "ffmpeg")
    version = r.metadata["version"]
    assert isinstance(version, str) and version[0].isdigit()
    assert f"ffmpeg {version} at {ffmpeg_dir / 'ffmpeg'}" in r.message
    assert "encoders libx264 built in" in r.message


def test_absent_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the default environ is read at check time
    r = FfmpegHealthCheck().check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.startswith("ffmpeg not found on PATH")


def test_configured_path_missing(tmp_path: Path) -> None:
    r = FfmpegHealthCheck(path=str(tmp_path / "opt" / "ffmpeg")).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "not found at" in r.message and "(the Ffmpeg check's path)" in r.message


def test_configured_path_is_used(ffmpeg_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check = FfmpegHealthCheck(path=str(ffmpeg_dir / "ffmpeg"), environ={"PATH": str(empty)})
    assert check.check().status is HealthStatus.HEALTHY


def test_a_missing_encoder_is_a_warning_naming_it(ffmpeg_dir: Path) -> None:
    check = FfmpegHealthCheck(["libx264", "no_such_encoder_xyz"],
                              environ={"PATH": str(ffmpeg_dir)})
    r = check.check()
    assert r.status is HealthStatus.WARNING
    assert r.message.endswith("lacks encoder no_such_encoder_xyz")
    assert r.metadata["encoders_missing"] == ["no_such_encoder_xyz"]


def test_probe_is_cached_until_the_binary_changes(ffmpeg_dir: Path) -> None:
    check = FfmpegHealthCheck(["libx264"], environ={"PATH": str(ffmpeg_dir)})
    for _ in range(3):
        assert check.check().status is HealthStatus.HEALTHY
    assert check.probes == 1
    binary = ffmpeg_dir / "ffmpeg"
    st = binary.stat()
    os.utime(binary, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # "upgraded"
    assert check.check().status is HealthStatus.HEALTHY
    assert check.probes == 2


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for ffmpeg")
def test_a_broken_ffmpeg_is_unhealthy(tmp_path: Path) -> None:
    d = tmp_path / "bin"
    d.mkdir()
    fake = d / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n")
    fake.chmod(0o755)
    r = FfmpegHealthCheck(environ={"PATH": str(d)}).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "does not work" in r.message and "exited with 127" in r.message
    assert "error while loading shared libraries" in r.message


def test_parse_encoders() -> None:
    text = ("Encoders:\n V..... = Video\n ------\n V....D libx264              H.264\n"
            " A..... aac                  AAC (Advanced Audio Coding)\n")
    assert parse_encoders(text) == {"libx264", "aac"}
    assert parse_encoders("no table here") == frozenset()

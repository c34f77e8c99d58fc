from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from timeline_telemetry.paths import AppPaths


def test_home_env_puts_everything_under_one_folder(tmp_path: Path) -> None:
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": str(tmp_path / "h")})
    assert paths == AppPaths(tmp_path / "h" / "config", tmp_path / "h" / "data",
                             tmp_path / "h" / "logs")
    assert not (tmp_path / "h").exists(), "resolving must not create anything"
    assert paths.ensure() is paths
    assert all(d.is_dir() for d in (paths.config_dir, paths.data_dir, paths.log_dir))
    paths.ensure()  # idempotent


def test_relative_home_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    paths = AppPaths.resolve({"TIMELINE_TELEMETRY_HOME": "portable"})
    assert paths.data_dir == tmp_path / "portable" / "data"


def test_without_home_uses_platformdirs() -> None:
    # The root conftest points XDG_* at a tmp dir, so these are not the real user's dirs.
    for environ in ({}, {"TIMELINE_TELEMETRY_HOME": ""}):
        paths = AppPaths.resolve(environ)
        assert paths.config_dir == Path(platformdirs.user_config_dir("timeline-telemetry",
                                                                     appauthor=False))
        assert paths.data_dir == Path(platformdirs.user_data_dir("timeline-telemetry",
                                                                 appauthor=False))
        assert paths.log_dir == Path(platformdirs.user_log_dir("timeline-telemetry",
                                                               appauthor=False))
        assert "timeline-telemetry" in paths.config_dir.parts

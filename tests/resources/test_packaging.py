"""Packaging files: the desktop entries are valid XDG entries that start our console script
with the shipped icon; the spec and build script parse. The real build (PyInstaller, ~1 min)
runs with ``TIMELINE_TELEMETRY_BUILD_PACKAGE=1``."""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from studio_resources import RESOURCES

ROOT = RESOURCES.parent
PACKAGING = ROOT / "packaging"


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


@pytest.mark.parametrize("name", ["timeline-telemetry.desktop",
                                  "timeline-telemetry-autostart.desktop"])
def test_desktop_entries_start_our_command_with_our_icon(name: str) -> None:
    entry = _entry(PACKAGING / "linux" / name)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Type"] == "Application" and entry["Name"]
    assert entry["Exec"].split()[0] in scripts
    assert entry["TryExec"] in scripts
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").exists()
    assert entry["Terminal"] == "false"


def test_icon_is_square_svg() -> None:
    root = ET.parse(RESOURCES / "icons" / "timeline-telemetry.svg").getroot()
    assert root.tag.endswith("svg") and root.get("width") == root.get("height")


def test_spec_and_scripts_parse() -> None:
    ast.parse((PACKAGING / "timeline-telemetry.spec").read_text())
    ast.parse((PACKAGING / "entry.py").read_text())
    for script in ("build.sh", "linux/install-desktop.sh"):
        proc = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True,
                              text=True, check=False, timeout=30)
        assert proc.returncode == 0, proc.stderr


def test_install_desktop_script_installs_and_removes(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    script = str(PACKAGING / "linux" / "install-desktop.sh")
    subprocess.run(["bash", script, "--autostart"], env=env, check=True, timeout=30,
                   capture_output=True)
    installed = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert installed == {"data/applications/timeline-telemetry.desktop",
                         "data/icons/hicolor/scalable/apps/timeline-telemetry.svg",
                         "config/autostart/timeline-telemetry.desktop"}
    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, timeout=30,
                   capture_output=True)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("TIMELINE_TELEMETRY_BUILD_PACKAGE") != "1",
                    reason="set TIMELINE_TELEMETRY_BUILD_PACKAGE=1 to build with PyInstaller")
def test_pyinstaller_build_and_smoke_run() -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    proc = subprocess.run(["bash", str(PACKAGING / "build.sh")], capture_output=True,
                          text=True, timeout=600, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "== ok:" in proc.stdout

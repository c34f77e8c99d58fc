"""Packaging files: the desktop entries are valid XDG entries (desktop-file-validate) that start
the tray with the shipped icon; the icon build step writes valid PNG/ICO/ICNS files; the
systemd user unit verifies and the launchd plist parses; the spec and build script parse.
The real build (PyInstaller, ~1 min) runs with ``TIMELINE_TELEMETRY_BUILD_PACKAGE=1``."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import plistlib
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
from studio_resources import RESOURCES

ROOT = RESOURCES.parent
PACKAGING = ROOT / "packaging"


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


DESKTOP_FILES = sorted(PACKAGING.rglob("*.desktop"))


def test_there_is_one_menu_entry_and_one_autostart_entry_under_one_name() -> None:
    rel = {p.relative_to(PACKAGING / "linux").as_posix() for p in DESKTOP_FILES}
    assert rel == {"timeline-telemetry.desktop", "autostart/timeline-telemetry.desktop"}
    # the Settings switch writes the same name: one entry however autostart was turned on
    from timeline_telemetry.ui.autostart import DESKTOP_NAME
    assert DESKTOP_NAME == "timeline-telemetry.desktop"


@pytest.mark.parametrize("path", DESKTOP_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_desktop_entries_start_the_tray_with_our_icon(path: Path) -> None:
    entry = _entry(path)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Type"] == "Application" and entry["Name"]
    # no subcommand = the tray app (clicking the menu entry must show something)
    assert entry["Exec"].split() == ["timeline-telemetry"]
    assert entry["Exec"].split()[0] in scripts
    assert entry["TryExec"] in scripts
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").exists()
    assert entry["Terminal"] == "false"


@pytest.mark.parametrize("path", DESKTOP_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_desktop_file_validate_accepts_the_entries(path: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("needs desktop-file-validate (apt-get install desktop-file-utils)")
    proc = subprocess.run([validate, str(path)], capture_output=True, text=True, timeout=30,
                          check=False)
    # hints (e.g. two main categories) are printed but do not fail: treat any output as one
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_icon_is_square_svg() -> None:
    root = ET.parse(RESOURCES / "icons" / "timeline-telemetry.svg").getroot()
    assert root.tag.endswith("svg") and root.get("width") == root.get("height")


def test_spec_and_scripts_parse() -> None:
    ast.parse((PACKAGING / "timeline-telemetry.spec").read_text())
    ast.parse((PACKAGING / "entry.py").read_text())
    ast.parse((PACKAGING / "icons.py").read_text())
    for script in ("build.sh", "pipx-smoke.sh", "smoke-run.sh", "linux/install-desktop.sh"):
        proc = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True,
                              text=True, check=False, timeout=30)
        assert proc.returncode == 0, proc.stderr


#: What the desktop's own tools may leave beside our files (update-desktop-database's MIME
#: cache, a GTK icon cache): not ours to count or remove.
_CACHES = {"mimeinfo.cache", "icon-theme.cache"}


def _installed(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and p.name not in _CACHES}


def test_install_desktop_script_installs_and_removes(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "ICONS_DIR": str(tmp_path / "none")}
    script = str(PACKAGING / "linux" / "install-desktop.sh")
    subprocess.run(["bash", script, "--autostart"], env=env, check=True, timeout=30,
                   capture_output=True)
    assert _installed(tmp_path) == {"data/applications/timeline-telemetry.desktop",
                                    "data/icons/hicolor/scalable/apps/timeline-telemetry.svg",
                                    "config/autostart/timeline-telemetry.desktop"}
    assert "run --headless" not in (tmp_path / "config/autostart/timeline-telemetry.desktop"
                                    ).read_text()
    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, timeout=30,
                   capture_output=True)
    assert not _installed(tmp_path)


def test_install_desktop_script_installs_the_generated_pngs(tmp_path: Path,
                                                            offscreen_qapp: Any) -> None:
    icons = _load_icons_module()
    icons.generate(out=tmp_path / "icons")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "ICONS_DIR": str(tmp_path / "icons")}
    script = str(PACKAGING / "linux" / "install-desktop.sh")
    subprocess.run(["bash", script], env=env, check=True, timeout=30, capture_output=True)
    pngs = {p for p in _installed(tmp_path / "data") if p.endswith(".png")}
    assert pngs == {f"icons/hicolor/{s}x{s}/apps/timeline-telemetry.png"
                    for s in icons.HICOLOR_SIZES}
    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, timeout=30,
                   capture_output=True)
    assert not _installed(tmp_path / "data")


@pytest.fixture
def offscreen_qapp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The session's QApplication (pytest-qt's), offscreen: icons.py renders with whatever
    application exists, and a bare QGuiApplication made here would break every later Qt
    test in this process."""
    pytest.importorskip("PySide6.QtSvg")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return request.getfixturevalue("qapp")


def _load_icons_module() -> Any:
    spec = importlib.util.spec_from_file_location("packaging_icons", PACKAGING / "icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icon_build_step_writes_valid_png_ico_and_icns(tmp_path: Path,
                                                       offscreen_qapp: Any) -> None:
    """packaging/icons.py renders the SVG; Qt's own readers must read every size back."""
    from PySide6.QtGui import QImageReader

    icons = _load_icons_module()
    written = icons.generate(out=tmp_path)
    assert len(written) == len(icons.HICOLOR_SIZES) + 3
    for size in icons.HICOLOR_SIZES:
        png = tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "timeline-telemetry.png"
        reader = QImageReader(str(png))
        image = reader.read()
        assert (image.width(), image.height()) == (size, size), reader.errorString()
        assert image.hasAlphaChannel()
        corner, centre = image.pixelColor(0, 0), image.pixelColor(size // 2, size // 2)
        assert corner != centre, "the icon rendered blank"
    for suffix, sizes in (("ico", icons.ICO_SIZES), ("icns", tuple(icons.ICNS_TYPES))):
        reader = QImageReader(str(tmp_path / f"timeline-telemetry.{suffix}"))
        assert bytes(reader.format().data()).decode() == suffix
        found = []
        for i in range(reader.imageCount()):
            reader.jumpToImage(i)
            found.append(reader.read().width())
        assert sorted(found) == sorted(sizes), suffix


def test_ico_and_icns_containers_are_well_formed() -> None:
    icons = _load_icons_module()
    pngs = {16: b"\x89PNG-a", 256: b"\x89PNG-bbb"}
    ico = icons.ico(pngs)
    assert struct.unpack_from("<HHH", ico) == (0, 1, 2)
    w16, _, _, _, _, bpp, size, offset = struct.unpack_from("<BBBBHHII", ico, 6)
    assert (w16, bpp, ico[offset:offset + size]) == (16, 32, pngs[16])
    w256, *_rest = struct.unpack_from("<BBBBHHII", ico, 22)
    assert w256 == 0  # 256 is written as 0
    icns = icons.icns({16: b"\x89PNG-a", 512: b"\x89PNG-bbb"})
    assert icns[:4] == b"icns" and struct.unpack_from(">I", icns, 4)[0] == len(icns)
    assert icns[8:12] == b"icp4" and struct.unpack_from(">I", icns, 12)[0] == 8 + 6


def test_systemd_user_unit_runs_the_headless_agent_and_verifies(tmp_path: Path) -> None:
    unit = PACKAGING / "linux" / "timeline-telemetry.service"
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    assert parser["Service"]["ExecStart"].split()[-3:] == ["timeline-telemetry", "run",
                                                          "--headless"]
    assert parser["Install"]["WantedBy"] == "default.target"  # a user unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("needs systemd-analyze (apt-get install systemd)")
    shutil.copy(unit, tmp_path / unit.name)
    proc = subprocess.run([analyze, "verify", "--man=no", unit.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    # verify exits 0 on unknown keys and bad values: any message is a failure
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stderr


def test_launchd_agent_plist_runs_the_headless_agent() -> None:
    (path,) = (PACKAGING / "macos").glob("*.plist")
    agent = plistlib.loads(path.read_bytes())
    from timeline_telemetry.ui.autostart import LAUNCH_AGENT_LABEL
    assert agent["Label"] == path.stem and agent["Label"] != LAUNCH_AGENT_LABEL
    assert agent["ProgramArguments"][1:] == ["run", "--headless"]
    assert agent["ProgramArguments"][0].endswith("/timeline-telemetry")
    assert agent["RunAtLoad"] is True
    plutil = shutil.which("plutil")
    if plutil is not None:
        proc = subprocess.run([plutil, "-lint", str(path)], capture_output=True, text=True,
                              timeout=30, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_wheel_carries_presets_rules_and_icons(tmp_path: Path) -> None:
    """What pipx installs (packaging/pipx-smoke.sh runs it): the package data is inside."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("timeline_telemetry-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "desktop" / "timeline_telemetry"
    data = {p.relative_to(package.parent).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix in {".json", ".yml", ".svg", ".typed"}}
    assert {"timeline_telemetry/config/presets/workstation.json",
            "timeline_telemetry/alerts/rules/alert_rules.yml",
            "timeline_telemetry/ui/icons/healthy-light.svg"} <= data
    assert data <= names, sorted(data - names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "timeline-telemetry = " in text and "timeline-telemetry-tray = " in text


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

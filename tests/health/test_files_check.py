"""OpenFilesHealthCheck: Warning while a path no longer names the file opened there."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from timeline_telemetry.health.files import OpenFile, OpenFilesHealthCheck
from timeline_telemetry.health.model import HealthStatus


def opened(path: Path) -> OpenFile:
    st = os.stat(path)
    return OpenFile("history", path, (st.st_dev, st.st_ino))


def test_healthy_while_in_place_warning_once_removed_or_replaced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "history.sqlite3"
    db.write_bytes(b"x")
    files = [opened(db)]
    check = OpenFilesHealthCheck(lambda: files)
    assert check.name == "history"
    assert check.check().status is HealthStatus.HEALTHY

    other = data / "other"
    other.write_bytes(b"y")
    other.replace(db)
    r = check.check()
    assert r.status is HealthStatus.WARNING and "replaced by another file" in r.message

    db.unlink()
    r = check.check()
    assert r.status is HealthStatus.WARNING and "was removed while in use" in r.message

    shutil.rmtree(data)
    r = check.check()
    assert r.status is HealthStatus.WARNING and "removed with its folder" in r.message

    data.mkdir()
    db.write_bytes(b"z")
    files[:] = [opened(db)]  # reopened: a new identity
    assert check.check().status is HealthStatus.HEALTHY


def test_an_unknown_identity_is_never_reported(tmp_path: Path) -> None:
    check = OpenFilesHealthCheck(lambda: [OpenFile("history", tmp_path / "gone", None)])
    assert check.check().status is HealthStatus.HEALTHY

"""Whether a path still names the file a process has open (removed or replaced under it).

A user cleaning folders may delete ``history.sqlite3`` (or the whole data folder) while the
agent runs: SQLite keeps writing to the unlinked inode and nothing looks wrong until the
next start. Comparing ``(st_dev, st_ino)`` recorded at open with ``os.stat`` of the path
each health round catches it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

__all__ = [
    "FileId", "drop_stale_sidecars", "file_id", "replaced_why", "salvage_into", "sidecar_ids",
]

#: ``(st_dev, st_ino)`` of a file.
FileId = tuple[int, int]


def file_id(path: Path) -> FileId | None:
    """The identity of the file at ``path`` now; None if nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def replaced_why(path: Path, opened: FileId | None) -> str | None:
    """Why ``path`` no longer names the file opened as ``opened``; None while it does."""
    if opened is None:
        return None
    now = file_id(path)
    if now is None:
        return "removed" if path.parent.is_dir() else "removed with its folder"
    if now != opened:
        return "replaced by another file"
    return None


def salvage_into(source: sqlite3.Connection, path: Path) -> bool:
    """Copy the database open as ``source`` (still readable after its file was unlinked)
    into a new file at ``path``, creating its folder. False (and nothing left at ``path``)
    when the copy failed; the caller then starts an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        dest = sqlite3.connect(str(path))
        try:
            source.backup(dest)
        finally:
            dest.close()
    except sqlite3.Error:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            with contextlib.suppress(OSError):
                p.unlink()
        return False
    return True


def sidecar_ids(path: Path) -> dict[Path, FileId | None]:
    """The identities of the ``-wal`` and ``-shm`` files next to ``path`` now (record them
    right after opening, while they are the open connection's own)."""
    return {p: file_id(p) for p in (Path(f"{path}-wal"), Path(f"{path}-shm"))}


def drop_stale_sidecars(recorded: dict[Path, FileId | None]) -> None:
    """Remove the ``-wal``/``-shm`` files still there from ``recorded`` (call after closing
    the connection they belong to). SQLite does not checkpoint or delete the WAL of a
    database whose file was unlinked, and a new file at the same path would replay it."""
    for p, ident in recorded.items():
        if ident is not None and file_id(p) == ident:
            with contextlib.suppress(OSError):
                p.unlink()

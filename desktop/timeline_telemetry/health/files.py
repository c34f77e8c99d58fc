"""OpenFilesHealthCheck: do the paths still name the files the agent has open?

The history and the alert store are SQLite files the agent keeps open. Deleted under it (a
user cleaning folders, ``rm -rf`` of the data folder), SQLite goes on writing to the
unlinked file and everything looks fine until the next start finds nothing. This check
compares the identity recorded when each file was opened (``st_dev``/``st_ino``, which the
open descriptor keeps allocated) with what the path names now, and is Warning while they
differ; the runtime reopens (recreates) the files right after the round that saw it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import HealthCheckResult

__all__ = ["OpenFile", "OpenFilesHealthCheck"]


@dataclass(frozen=True, slots=True)
class OpenFile:
    """A file the agent has open: its ``path`` and ``(st_dev, st_ino)`` at open (None when
    it could not be read then: never reported)."""

    label: str
    path: Path
    identity: tuple[int, int] | None


class OpenFilesHealthCheck:
    """Warning while any of ``files()`` no longer names its open file; ``files`` is read each
    run (a reopened store has a new identity)."""

    def __init__(self, files: Callable[[], Sequence[OpenFile]], *, name: str = "history",
                 timeout: float | None = None) -> None:
        self._files = files
        self.name = name
        self.timeout = timeout

    def check(self) -> HealthCheckResult:
        """Stat each path and compare."""
        files = list(self._files())
        problems: list[str] = []
        replaced: list[str] = []
        for f in files:
            why = _why(f)
            if why is not None:
                problems.append(f"{f.label} file {f.path} was {why} while in use")
                replaced.append(f.label)
        paths = {f.label: str(f.path) for f in files}
        if problems:
            return HealthCheckResult.warning(
                "; ".join(problems) + " (the agent recreates it)", problems=problems,
                replaced=replaced, **paths)
        return HealthCheckResult.healthy(
            f"{len(files)} file{'s' if len(files) != 1 else ''} in place: "
            + ", ".join(f.path.name for f in files), **paths)


def _why(f: OpenFile) -> str | None:
    if f.identity is None:
        return None
    try:
        st = os.stat(f.path)
    except OSError:
        return "removed" if f.path.parent.is_dir() else "removed with its folder"
    if (st.st_dev, st.st_ino) != f.identity:
        return "replaced by another file"
    return None

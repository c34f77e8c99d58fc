"""Maps watched directories to the mount points whose space the system collector reports."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

__all__ = ["MountResolver", "mount_point_of"]

_log = logging.getLogger(__name__)


def mount_point_of(path: str) -> str | None:
    """The mount point holding ``path`` (symlinks resolved), or None if ``path`` does not exist.

    Walks up to the first directory ``os.path.ismount`` accepts: ``/`` or a mounted volume on
    POSIX, the drive root (``C:\\``) or a mounted folder on Windows.
    """
    if not os.path.exists(path):
        return None
    current = os.path.realpath(path)
    while not os.path.ismount(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


class MountResolver:
    """Resolves ``paths`` to distinct mount points, caching the answer for ``resolve_interval``
    seconds so a drive mounted later (or a media folder created later) is picked up.

    A path that does not exist is skipped and logged once at WARNING until it appears again.
    Empty ``paths`` means the root of the current drive.
    """

    def __init__(
        self,
        paths: Sequence[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        resolve_interval: float = 60.0,
    ) -> None:
        self._paths = tuple(dict.fromkeys(paths)) or (os.path.abspath(os.sep),)
        self._clock = clock
        self._interval = resolve_interval
        self._resolved_at: float | None = None
        self._mounts: tuple[str, ...] = ()
        self._missing: set[str] = set()

    def mount_points(self) -> tuple[str, ...]:
        """The distinct mount points of the watched paths, in the order first seen."""
        now = self._clock()
        if self._resolved_at is None or now - self._resolved_at >= self._interval:
            self._mounts = self._resolve()
            self._resolved_at = now
        return self._mounts

    def _resolve(self) -> tuple[str, ...]:
        mounts: dict[str, None] = {}
        for path in self._paths:
            mount = mount_point_of(path)
            if mount is None:
                if path not in self._missing:
                    self._missing.add(path)
                    _log.warning("disk metrics: %s does not exist; skipping it", path)
                continue
            self._missing.discard(path)
            mounts[mount] = None
        return tuple(mounts)

"""The drives the configuration names, for ``system.json``: where the editor's media and
caches live, the collector's disk paths and the agent's data directory, each with the file
system under it and its free space (the drive that filled up is usually one of these, not
``/``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["configured_drives", "configured_paths"]


def configured_paths(
    *, media_dirs: Iterable[str], cache_dirs: Iterable[str], disk_paths: Iterable[str],
    data_dir: Path,
) -> list[tuple[str, str]]:
    """``(role, path)`` for every place the configuration names (``~`` expanded)."""
    out = [("media_dir", p) for p in media_dirs] + [("cache_dir", p) for p in cache_dirs]
    out += [("disk_path", p) for p in disk_paths] + [("data_dir", str(data_dir))]
    return [(role, os.path.expanduser(p)) for role, p in out]


def configured_drives(ps: ModuleType, paths: Sequence[tuple[str, str]]) -> list[dict[str, object]]:
    """One entry per configured path (roles merged when a path is named twice): the mount
    it is on, the device, the file system type, total, free and used space. A path that does
    not exist is listed with ``exists: false``, and its nearest existing parent is measured."""
    roles: dict[str, list[str]] = {}
    for role, path in paths:
        roles.setdefault(path, [])
        if role not in roles[path]:
            roles[path].append(role)
    try:
        parts = list(ps.disk_partitions(all=True))
    except OSError:
        parts = []
    out: list[dict[str, object]] = []
    for path, names in roles.items():
        entry: dict[str, object] = {"path": path, "roles": names}
        p = Path(path)
        entry["exists"] = p.exists()
        probe = _nearest_existing(p)
        if str(probe) != path:  # an unmounted drive: say which folder was measured instead
            entry["measured_path"] = str(probe)
        part = _mount_of(parts, probe)
        if part is not None:
            entry.update(mountpoint=part.mountpoint, device=part.device, fstype=part.fstype)
        else:
            entry.update(mountpoint=None, device=None, fstype=None)
        try:
            u = ps.disk_usage(str(probe))
            entry.update(total_bytes=u.total, free_bytes=u.free, used_bytes=u.used,
                         percent=u.percent)
        except OSError as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        out.append(entry)
    return out


def _nearest_existing(p: Path) -> Path:
    p = p.absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def _mount_of(parts: Sequence[Any], path: Path) -> Any:
    """The partition whose mount point is the longest prefix of ``path`` (links resolved)."""
    try:
        target = path.resolve()
    except OSError:
        target = path
    best = None
    best_len = -1
    for part in parts:
        mount = Path(str(part.mountpoint))
        if (target == mount or mount in target.parents) and len(str(mount)) > best_len:
            best, best_len = part, len(str(mount))
    return best

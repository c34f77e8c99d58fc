"""One agent per home, and where the CLI finds it.

The running agent (tray or headless) holds an exclusive lock on ``agent.lock`` in its data
dir for its whole life and describes itself in ``agent.json`` beside it: pid, mode, version,
config file, start time and every listener. The lock, not the pid, says whether the agent
is alive (a pid is reused; a lock dies with its process), so a file left by a crash is
simply ignored. ``agent.json`` is written whole (temp file, then rename) and removed on a
clean exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["AgentInfo", "AlreadyRunning", "InstanceLock", "find_running", "state_file"]

_STATE = "agent.json"
_LOCK = "agent.lock"
#: A state file larger than this is not ours (it is a few hundred bytes).
_MAX_STATE_BYTES = 64 * 1024


def state_file(data_dir: Path) -> Path:
    """Where the agent of this data dir describes itself."""
    return data_dir / _STATE


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What ``agent.json`` holds. ``listeners`` maps a listener's name (``prometheus``,
    ``otlp-receiver``) to its base URL; ``api`` is the base URL of the local API, if any."""

    pid: int
    mode: str
    version: str
    started_at: float
    config: str
    data_dir: str
    listeners: dict[str, str] = field(default_factory=dict)
    api: str | None = None

    def to_json(self) -> dict[str, object]:
        """As written to the state file."""
        return {"pid": self.pid, "mode": self.mode, "version": self.version,
                "started_at": self.started_at, "config": self.config,
                "data_dir": self.data_dir, "listeners": dict(self.listeners), "api": self.api}

    @classmethod
    def from_json(cls, raw: object) -> AgentInfo | None:
        """Parse a state file's JSON; None if it is not one."""
        if not isinstance(raw, dict):
            return None
        try:
            listeners = raw.get("listeners") or {}
            api = raw.get("api")
            return cls(
                pid=int(raw["pid"]), mode=str(raw["mode"]), version=str(raw["version"]),
                started_at=float(raw["started_at"]), config=str(raw["config"]),
                data_dir=str(raw["data_dir"]),
                listeners={str(k): str(v) for k, v in dict(listeners).items()},
                api=str(api) if api else None)
        except (KeyError, TypeError, ValueError):
            return None

    def one_line(self) -> str:
        """``tray (pid 4242), /metrics at http://127.0.0.1:9464/metrics, ...``."""
        parts = [f"{self.mode} (pid {self.pid}, config {self.config})"]
        parts += [f"{name} at {url}" for name, url in self.listeners.items()]
        return ", ".join(parts)


class AlreadyRunning(RuntimeError):
    """Another agent holds this home; ``info`` describes it when its state file says."""

    def __init__(self, data_dir: Path, info: AgentInfo | None) -> None:
        self.info = info
        self.data_dir = data_dir
        who = info.one_line() if info is not None else "another timeline-telemetry process"
        super().__init__(
            f"already running for {data_dir}: {who}; stop it first, or give this one "
            "another home (TIMELINE_TELEMETRY_HOME)")


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_state(data_dir: Path) -> AgentInfo | None:
    path = state_file(data_dir)
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_STATE_BYTES + 1)
    except OSError:
        return None
    if len(raw) > _MAX_STATE_BYTES:
        return None
    try:
        return AgentInfo.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return None


class InstanceLock:
    """Held by the running agent: ``acquire`` or :class:`AlreadyRunning`; ``publish``
    writes ``agent.json``; ``release`` removes it and lets go of the lock."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the home's lock; raises :class:`AlreadyRunning` naming the holder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fh = (self.data_dir / _LOCK).open("a+b")
        if not _try_lock(fh):
            fh.close()
            raise AlreadyRunning(self.data_dir, _read_state(self.data_dir))
        self._fh = fh

    @property
    def held(self) -> bool:
        """True between ``acquire`` and ``release``."""
        return self._fh is not None

    def publish(self, info: AgentInfo) -> None:
        """Write ``agent.json`` atomically (only while holding the lock)."""
        if self._fh is None:
            raise RuntimeError("publish before acquire")
        path = state_file(self.data_dir)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def release(self) -> None:
        """Remove ``agent.json`` and release the lock; idempotent."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with contextlib.suppress(OSError):
            state_file(self.data_dir).unlink()
        fh.close()  # closing drops the lock


def find_running(data_dir: Path) -> AgentInfo | None:
    """The agent running for ``data_dir``, or None (no state file, or it is stale: nobody
    holds the lock)."""
    info = _read_state(data_dir)
    if info is None:
        return None
    lock = data_dir / _LOCK
    try:
        fh = lock.open("a+b")
    except OSError:
        return info  # cannot tell: trust the file
    try:
        if _try_lock(fh):
            return None  # nobody holds it: the file was left by a process that died
        return info
    finally:
        fh.close()

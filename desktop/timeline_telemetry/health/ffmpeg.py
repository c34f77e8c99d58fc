"""FfmpegHealthCheck: ffmpeg is there, runs, and has the encoders the editor needs.

Running ffmpeg twice (``-version``, ``-encoders``) costs ~50-100 ms of CPU, so the probe's
outcome is cached per binary (resolved path, mtime, size): a round only stats the file, and a
replaced or upgraded ffmpeg is probed again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .model import HealthCheckResult

__all__ = ["FfmpegHealthCheck", "FfmpegProbe", "parse_encoders"]

_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flash on Windows


@dataclass(frozen=True, slots=True)
class FfmpegProbe:
    """What one probe of a binary found."""

    path: str
    version: str
    encoders: frozenset[str]


class FfmpegProbeError(Exception):
    """The binary exists but could not be run or did not answer as ffmpeg does."""


def parse_encoders(text: str) -> frozenset[str]:
    """Encoder names from ``ffmpeg -hide_banner -encoders`` output (the lines after ``------``,
    each ``" V....D libx264   description"``)."""
    names: set[str] = set()
    started = False
    for line in text.splitlines():
        if not started:
            started = line.strip().startswith("------")
            continue
        parts = line.split(None, 2)
        if len(parts) >= 2 and len(parts[0]) == 6:
            names.add(parts[1])
    return frozenset(names)


def _parse_version(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    words = first.split()
    if len(words) >= 3 and words[1] == "version":
        return words[2]
    raise FfmpegProbeError(f"unexpected -version output: {first[:80]!r}")


Runner = Callable[[list[str], float], "subprocess.CompletedProcess[str]"]


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
        timeout=timeout, check=False, creationflags=_NO_WINDOW,
    )


class FfmpegHealthCheck:
    """Finds ffmpeg (``path``: a file, or a command name looked up on PATH; default
    ``ffmpeg`` on PATH), reports its version, and checks ``encoders`` are built in.

    Missing or broken ffmpeg -> Unhealthy; a missing encoder -> Warning naming it.
    ``environ`` supplies PATH (read at each check; default ``os.environ``); ``run`` executes
    ffmpeg with a timeout (``probe_timeout`` seconds, so a hung ffmpeg frees the thread).
    """

    kind = "ffmpeg"

    def __init__(
        self,
        encoders: Iterable[str] = (),
        *,
        path: str | None = None,
        name: str = "ffmpeg",
        timeout: float | None = None,
        probe_timeout: float = 10.0,
        environ: Mapping[str, str] | None = None,
        run: Runner = _run,
    ) -> None:
        self.encoders = tuple(dict.fromkeys(encoders))
        self.path = path
        self.name = name
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self._environ = environ
        self._run = run
        self._cache: dict[tuple[str, int, int], FfmpegProbe] = {}
        self.probes = 0  # how many times ffmpeg was actually run (for tests and diagnostics)

    def check(self) -> HealthCheckResult:
        """Find the binary, probe it if it changed, compare its encoders."""
        binary = self._find()
        if binary is None:
            return HealthCheckResult.unhealthy(self._not_found(), path=self.path)
        try:
            probe = self._probe(binary)
        except (OSError, subprocess.SubprocessError, FfmpegProbeError) as exc:
            return HealthCheckResult.unhealthy(f"ffmpeg at {binary} does not work: {exc}",
                                               path=binary)
        missing = [e for e in self.encoders if e not in probe.encoders]
        meta: dict[str, object] = {
            "path": probe.path, "version": probe.version, "encoders_required": list(self.encoders),
            "encoders_missing": missing, "encoders_available": len(probe.encoders),
        }
        where = f"ffmpeg {probe.version} at {probe.path}"
        if missing:
            return HealthCheckResult.warning(
                f"{where} lacks encoder{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                **meta)
        # "built in": ffmpeg lists an encoder whether or not the hardware it needs is here.
        have = f"; encoders {', '.join(self.encoders)} built in" if self.encoders else ""
        return HealthCheckResult.healthy(f"{where}{have}", **meta)

    # -- internals ----------------------------------------------------------------------
    def _search_path(self) -> str:
        env = os.environ if self._environ is None else self._environ
        return env.get("PATH", os.defpath)

    def _find(self) -> str | None:
        wanted = self.path or "ffmpeg"
        if os.sep in wanted or (os.altsep and os.altsep in wanted):
            return wanted if os.path.isfile(wanted) and os.access(wanted, os.X_OK) else None
        return shutil.which(wanted, path=self._search_path())

    def _not_found(self) -> str:
        if self.path and (os.sep in self.path or (os.altsep and os.altsep in self.path)):
            return f"ffmpeg not found at {self.path} (the Ffmpeg check's path)"
        return (f"{self.path or 'ffmpeg'} not found on PATH; install ffmpeg or set the "
                "Ffmpeg check's path")

    def _probe(self, binary: str) -> FfmpegProbe:
        real = os.path.realpath(binary)
        st = os.stat(real)
        key = (real, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(key)
        if cached is not None:
            return FfmpegProbe(binary, cached.version, cached.encoders)
        self.probes += 1
        version = _parse_version(self._call(binary, "-version"))
        encoders = parse_encoders(self._call(binary, "-encoders"))
        if not encoders:
            raise FfmpegProbeError("-encoders listed no encoders")
        probe = FfmpegProbe(binary, version, encoders)
        self._cache = {key: probe}  # only the current binary is worth keeping
        return probe

    def _call(self, binary: str, flag: str) -> str:
        done = self._run([binary, "-hide_banner", flag], self.probe_timeout)
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
            raise FfmpegProbeError(f"'{flag}' exited with {done.returncode}: {tail[0][:200]}")
        return done.stdout

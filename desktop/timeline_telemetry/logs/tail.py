"""Following the editor's log files (``editor.log_globs``) into the ECS file, as ``tail -F``.

Files already there when following starts are read from their end (their past is in the
diagnostics bundle, not news); files that appear later are read from the start. A file that
shrank or was replaced (rotation) is read again from the start. Bounded: at most
``max_files`` files, ``max_bytes_per_poll`` bytes per file and poll (the rest is read at the
next poll), lines cut at ``max_line`` characters; a partial last line waits for its newline.

A PEM private key written across lines (``-----BEGIN ... PRIVATE KEY-----``, its base64
body, ``-----END ... PRIVATE KEY-----``) is not handed on line by line: the redaction of each
line masks the BEGIN line but cannot know the body lines that follow it, so the body lines are
dropped and the END line says how many were (see :class:`_PemBlock`).
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EditorLogTailer", "editor_log_files"]

_log = logging.getLogger(__name__)

LineSink = Callable[[Path, str], None]

_PEM_LABEL = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?"
_PEM_BEGIN = re.compile(r"-----BEGIN " + _PEM_LABEL + r"-----")
_PEM_END = re.compile(r"-----END " + _PEM_LABEL + r"-----")
#: What may stand on a line inside a PEM block: base64, or an RFC 1421 header of a legacy
#: encrypted key ("Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,..."), or nothing.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]*|(?:Proc-Type|DEK-Info):[ -~]*")
#: A body longer than this many lines (an 8192-bit RSA key has about 100) is not a key body:
#: the block ends there and the lines after it are handed on again.
_PEM_MAX_LINES = 256


@dataclass
class _PemBlock:
    """A PEM private-key block being read: its body lines are dropped (counted) until the END
    line, a line that cannot be part of a body, or ``_PEM_MAX_LINES`` lines."""

    lines: int = 0

    def take(self, line: str) -> str | None:
        """None while ``line`` is part of the body (dropped); else the line to hand on, the
        block having ended."""
        end = _PEM_END.search(line)
        if end is not None:
            return f"[{self.lines} lines of a private key removed] " + line
        if self.lines >= _PEM_MAX_LINES or not _PEM_BODY.fullmatch(line.strip()):
            return line  # not a key body after all: hand the line on as it is
        self.lines += 1
        return None


@dataclass
class _Follow:
    inode: int
    offset: int
    partial: bytes = b""
    pem: _PemBlock | None = None


class EditorLogTailer:
    """Polls ``globs`` and hands each new complete line to ``sink(path, line)``.

    :meth:`poll` does one round; the agent runs it as part of its ``logs`` job
    (:class:`~timeline_telemetry.logs.AgentLogs`). ``find`` lists the files of the globs
    (tests pass their own).
    """

    def __init__(
        self,
        globs: Sequence[str],
        sink: LineSink,
        *,
        find: Callable[[Sequence[str]], list[Path]] | None = None,
        max_files: int = 16,
        max_bytes_per_poll: int = 1 << 20,
        max_line: int = 16 * 1024,
    ) -> None:
        self._globs = tuple(globs)
        self._sink = sink
        self._find = find or editor_log_files
        self._max_files = max_files
        self._max_bytes = max_bytes_per_poll
        self._max_line = max_line
        self._files: dict[Path, _Follow] = {}
        self._primed = False
        self.lines = 0
        self.files_skipped = 0

    def poll(self) -> int:
        """Read what was appended since the last poll; returns the lines handed on."""
        found = self._find(self._globs)
        if len(found) > self._max_files:
            self.files_skipped = len(found) - self._max_files
            found = found[-self._max_files:]  # the newest (the finder sorts oldest first)
        n = 0
        seen: set[Path] = set()
        for path in found:
            seen.add(path)
            try:
                n += self._read(path)
            except OSError as exc:
                _log.debug("editor log %s: %s", path, exc)
        for gone in set(self._files) - seen:
            del self._files[gone]
        self._primed = True
        self.lines += n
        return n

    def _read(self, path: Path) -> int:
        st = os.stat(path)
        follow = self._files.get(path)
        if follow is None:
            start = st.st_size if not self._primed else 0
            follow = self._files[path] = _Follow(st.st_ino, start)
        elif follow.inode != st.st_ino or st.st_size < follow.offset:
            follow.inode, follow.offset, follow.partial, follow.pem = st.st_ino, 0, b"", None
        if st.st_size == follow.offset:
            return 0
        with open(path, "rb") as f:
            f.seek(follow.offset)
            data = f.read(self._max_bytes)
        follow.offset += len(data)
        chunks = (follow.partial + data).split(b"\n")
        follow.partial = chunks.pop()
        if len(follow.partial) > self._max_line:  # a "line" without end: hand on what we have
            chunks.append(follow.partial)
            follow.partial = b""
        n = 0
        for raw in chunks:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if not line.strip():
                continue
            if len(line) > self._max_line:
                line = line[: self._max_line] + " [cut]"
            if follow.pem is not None:
                shown = follow.pem.take(line)
                if shown is None:
                    continue
                follow.pem, line = None, shown
            else:
                begin = _PEM_BEGIN.search(line)
                if begin is not None and not _PEM_END.search(line, begin.end()):
                    follow.pem = _PemBlock()
            self._sink(path, line)
            n += 1
        return n

def editor_log_files(globs: Sequence[str]) -> list[Path]:
    """Files matching the editor's log globs (``~`` expanded), oldest first by mtime: what
    the follower reads and what the diagnostics bundle lists."""
    found: set[Path] = set()
    for pattern in globs:
        for name in glob.glob(os.path.expanduser(pattern), recursive=True):
            p = Path(name)
            if p.is_file():
                found.add(p)

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=mtime)

"""The File trace exporter's sender: one OTLP/JSON request per line, rotated by size.

The line writing and rotation are the metrics File exporter's (``export.file``): a line goes
out in one ``O_APPEND`` write, a torn last line is cut at start, a line cut short by a full
disk is truncated away before the next one, write errors are logged at most once a minute,
and ``path`` rotates to ``path.1`` ... ``path.<backups>`` when the next line would pass
``max_bytes``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from timeline_telemetry.delivery import DeliveryError
from timeline_telemetry.export.file import FileExporter, WriteFn

from .batch import OtlpBatch

__all__ = ["JsonLinesSender"]


class JsonLinesSender:
    """:class:`~timeline_telemetry.delivery.Sender` appending OTLP/JSON lines to ``path``.

    ``what`` names the content in messages (``traces``, ``logs``). A write error is retried
    (disk full and permissions get fixed); an unencodable batch is not. ``write`` and
    ``clock`` are the line writer's services (:class:`~timeline_telemetry.export.file.
    FileExporter`).
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        backups: int,
        what: str = "traces",
        name: str | None = None,
        write: WriteFn = os.write,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.what = what
        self.name = name or f"{what}:file:{self.path.name}"
        # The metrics File exporter owns the rotation logic; it is used here as the line
        # writer only (its snapshot encoding is never called).
        self._writer = FileExporter(
            path=self.path, max_bytes=max_bytes, backups=backups, resource={}, start_time=0.0,
            name=self.name, write=write, clock=clock,
        )

    def open(self) -> None:
        """Create the folder and cut a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer.start()

    def deliver(self, batch: OtlpBatch, *, timeout_s: float) -> int:
        """Append one line."""
        from .jsonlines import message_to_json_line  # protobuf: imported at the first line

        try:
            data = (message_to_json_line(batch.message) + "\n").encode("utf-8")
        except Exception as exc:
            raise DeliveryError(f"could not encode {self.what} as OTLP/JSON: {exc}",
                                retryable=False) from None
        try:
            self._writer.append_line(data)
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.path}: {type(exc).__name__}: {exc}",
                                retryable=True) from None
        return 0

    def close(self) -> None:
        """Nothing is held open between writes."""

    @property
    def rotations(self) -> int:
        """How many times the file was rotated."""
        return self._writer.rotations

    @property
    def max_bytes(self) -> int:
        """Rotation size."""
        return self._writer.max_bytes

    @property
    def backups(self) -> int:
        """Old files kept."""
        return self._writer.backups

    def describe(self) -> str:
        """One log line for the CLI."""
        return (f"writing {self.what} to {self.path} as OTLP/JSON lines (rotating at "
                f"{self._writer.max_bytes} bytes, keeping {self._writer.backups} old files)")

"""Shared values of the alerting tests: repo paths and the HTTP capture record."""

from __future__ import annotations

import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
PROM_DIR = REPO / "resources" / "prometheus"
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))


@dataclass
class Capture:
    """Requests received by a :func:`capture_server`; ``statuses`` are answered in order
    (then 200/202)."""

    url: str
    bodies: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, n: int, timeout: float = 10.0) -> list[Any]:
        """Block until ``n`` bodies arrived (condition wait with a deadline)."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.bodies) >= n, timeout), (
                f"got {len(self.bodies)} of {n} requests")
            return list(self.bodies)


AM = shutil.which("prometheus-alertmanager")
#: The ``resolve_timeout`` of the ``alertmanager_short`` fixture, in seconds.
RESOLVE_TIMEOUT_S = 3


@contextmanager
def running_alertmanager(tmp_path: Path, global_yaml: str = "") -> Iterator[str]:
    """Debian's real Alertmanager on a free 127.0.0.1 port (no cluster), routing to a null
    receiver; yields its URL once ``/-/ready`` answers. ``global_yaml``: the ``global:``
    section's body (e.g. a short ``resolve_timeout``)."""
    assert AM is not None
    cfg = tmp_path / "am.yml"
    head = f"global:\n{global_yaml}" if global_yaml else ""
    cfg.write_text(head + "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "am.log").open("wb") as log:
        proc = subprocess.Popen(
            [AM, f"--config.file={cfg}", f"--storage.path={tmp_path / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            def ready() -> bool:
                try:
                    with urllib.request.urlopen(url + "/-/ready", timeout=1) as r:
                        return bool(r.status == 200)
                except OSError:
                    return False

            wait_for(ready, timeout=20, what="alertmanager ready")
            yield url
        finally:
            proc.terminate()
            proc.wait(10)

"""Runs the real ``timeline-telemetry`` command as a subprocess and reads its log lines."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ENTRY = Path(sys.executable).with_name("timeline-telemetry")


def command(*args: str) -> list[str]:
    if ENTRY.exists():
        return [str(ENTRY), *args]
    return [sys.executable, "-m", "timeline_telemetry.cli", *args]


def agent_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEMETRY_", "PROMETHEUS_"))}
    env["TIMELINE_TELEMETRY_HOME"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.update(extra)
    return env


def run_cli(
    *args: str, home: Path, timeout: float = 60, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        env=agent_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        check=False,
    )


class AgentProcess:
    """``timeline-telemetry run --headless ...`` with its stderr collected line by line."""

    def __init__(self, *args: str, home: Path, **env: str) -> None:
        self.proc = subprocess.Popen(
            command("run", "--headless", *args),
            env=agent_env(home, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        #: What the agent printed on stdout (complete once ``stop`` or ``kill`` returned).
        self.stdout_lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._drainer = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drainer.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._q.put(line.rstrip("\n"))

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first log line matching ``pattern`` (already seen or arriving before timeout)."""
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self._q.empty():
                    break
                continue
            self.lines.append(line)
            m = rx.search(line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r}; got:\n" + "\n".join(self.lines))

    def drain(self) -> list[str]:
        """Every log line so far (what arrived since the last read is added first)."""
        while not self._q.empty():
            self.lines.append(self._q.get())
        return self.lines

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        while not self._q.empty():
            self.lines.append(self._q.get())
        self._close_pipes()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        self._close_pipes()

    def _close_pipes(self) -> None:
        self._drainer.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def collections(port: int) -> int:
    """How many collections the agent listening on ``port`` has run (``/api/v1/status``):
    what a test waits on instead of sleeping through a few intervals."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=5) as r:
        return int(json.load(r)["data"]["collections"])

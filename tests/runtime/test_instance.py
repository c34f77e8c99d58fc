"""One agent per home: the lock, agent.json, and finding a running agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from timeline_telemetry.runtime.instance import (
    AgentInfo,
    AlreadyRunning,
    InstanceLock,
    find_running,
    state_file,
)


def _info(data: Path) -> AgentInfo:
    return AgentInfo(pid=4242, mode="tray", version="0.1.0", started_at=1.0, config="c.json",
                     data_dir=str(data),
                     listeners={"prometheus": "http://127.0.0.1:9464/metrics"},
                     api="http://127.0.0.1:9464/api/v1")


def test_the_holder_is_found_and_a_second_lock_names_it(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    lock.acquire()
    try:
        lock.publish(_info(tmp_path))
        assert find_running(tmp_path) == _info(tmp_path)
        with pytest.raises(AlreadyRunning) as err:
            InstanceLock(tmp_path).acquire()
        msg = str(err.value)
        assert "tray (pid 4242" in msg and "http://127.0.0.1:9464/metrics" in msg
    finally:
        lock.release()
    assert not state_file(tmp_path).exists()
    assert find_running(tmp_path) is None
    again = InstanceLock(tmp_path)
    again.acquire()  # free once released
    again.release()


def test_a_state_file_left_by_a_dead_process_is_ignored(tmp_path: Path) -> None:
    state_file(tmp_path).write_text(json.dumps(_info(tmp_path).to_json()))
    assert find_running(tmp_path) is None


def test_a_lock_held_by_another_process_counts(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from timeline_telemetry.runtime.instance import AgentInfo, InstanceLock\n"
        f"d = Path({str(tmp_path)!r})\n"
        "lock = InstanceLock(d); lock.acquire()\n"
        "lock.publish(AgentInfo(1, 'headless', 'v', 0.0, 'c', str(d)))\n"
        "print('held', flush=True); sys.stdin.readline()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        info = find_running(tmp_path)
        assert info is not None and info.mode == "headless"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    # It exited without cleaning up: the file stays, but it is stale now.
    assert find_running(tmp_path) is None


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"pid": "x"}',
                                     "{" + " " * 70000 + "}"])
def test_a_damaged_state_file_reads_as_none(tmp_path: Path, content: str) -> None:
    lock = InstanceLock(tmp_path)
    lock.acquire()
    try:
        state_file(tmp_path).write_text(content)
        assert find_running(tmp_path) is None
        with pytest.raises(AlreadyRunning, match="another timeline-telemetry process"):
            InstanceLock(tmp_path).acquire()
    finally:
        lock.release()

"""A PEM private key in a followed editor log never reaches the ECS file line by line: the
follower drops its body lines (each line alone does not look like a secret to the redaction)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from secret_samples import PEM, PEM_BODY
from timeline_telemetry.logs.tail import EditorLogTailer
from timeline_telemetry.redact import redact_text

BODY = list(PEM_BODY)


def follow(path: Path) -> tuple[EditorLogTailer, list[str]]:
    """A tailer on ``path`` whose lines, redacted as the ECS formatter does, are collected."""
    seen: list[str] = []

    def find(_globs: Sequence[str]) -> list[Path]:
        return [path] if path.exists() else []

    tailer = EditorLogTailer(["unused"], lambda _p, line: seen.append(redact_text(line)),
                             find=find)
    tailer.poll()  # the file's current end
    return tailer, seen


def appended(tmp_path: Path, text: str) -> list[str]:
    """The lines handed on when ``text`` is appended to an empty, followed log."""
    log = tmp_path / "editor.log"
    log.write_text("")
    tailer, seen = follow(log)
    with log.open("a") as f:
        f.write(text)
    tailer.poll()
    return seen


def test_a_private_key_written_across_lines_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "editor.log"
    log.write_text("started\n")
    tailer, seen = follow(log)
    with log.open("a") as f:
        f.write("01:00 loading key\n" + PEM.strip() + "\n01:01 render done\n")
    tailer.poll()
    text = "\n".join(seen)
    assert BODY and not any(b in text for b in BODY), seen
    assert seen[0] == "01:00 loading key"
    assert seen[1].startswith("-----BEGIN") and seen[1].endswith("***"), seen
    assert seen[2] == f"[{len(BODY)} lines of a private key removed] -----END RSA PRIVATE KEY-----"
    assert seen[3] == "01:01 render done"


def test_a_key_split_across_polls_is_still_dropped(tmp_path: Path) -> None:
    log = tmp_path / "editor.log"
    log.write_text("")
    tailer, seen = follow(log)
    lines = PEM.strip().splitlines()
    for line in lines:  # one line per poll: the block's state is kept between polls
        with log.open("a") as f:
            f.write(line + "\n")
        tailer.poll()
    assert not any(b in "\n".join(seen) for b in BODY), seen
    assert len(seen) == 2


def test_a_begin_line_without_a_body_does_not_swallow_the_log(tmp_path: Path) -> None:
    """A line that cannot be part of a key body ends the block: the log goes on as usual."""
    seen = appended(tmp_path, "-----BEGIN RSA PRIVATE KEY-----\n"
                              "01:02 ERROR export failed: disk full\n"
                              "01:03 INFO retrying\n")
    assert seen[1:] == ["01:02 ERROR export failed: disk full", "01:03 INFO retrying"]


def test_a_legacy_encrypted_key_with_headers_is_dropped(tmp_path: Path) -> None:
    seen = appended(tmp_path, "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                              "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n"
                              "c2VjcmV0IGtleSBtYXRlcmlhbA==\n-----END RSA PRIVATE KEY-----\n"
                              "after\n")
    assert not any("DEK-Info" in s or "c2VjcmV0" in s for s in seen), seen
    assert seen[-1] == "after"

"""``timeline-telemetry silence add|list|expire``: silences in the alert store, the same
table the tray's snooze and acknowledge write. The running agent reads the store's
silences at every evaluation, so a silence added here takes effect at its next one.

Exit codes: 0 done, 2 bad input (a bad matcher or time, an unknown silence)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from .matchers import MatcherError, format_matcher, parse_silence_matchers
from .store import AlertStore, Silence

__all__ = ["SilenceInputError", "parse_end_time", "run_silence_add", "run_silence_expire",
           "run_silence_list"]

EXIT_OK = 0
EXIT_USAGE = 2


class SilenceInputError(ValueError):
    """A silence command argument that cannot be used; the message says what is accepted."""


def parse_end_time(text: str) -> float:
    """``--end``: an RFC 3339 / ISO 8601 time (``2026-12-05T18:00:00+01:00``, ``...Z``); one
    without an offset is local time. Unix seconds."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SilenceInputError(
            f"--end {text!r} is not a time: expected RFC 3339, e.g. 2026-12-05T18:00:00+01:00 "
            "or 2026-12-05T17:00:00Z (no offset: local time)") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # naive means local
    return dt.timestamp()


def format_time(ts: float) -> str:
    """RFC 3339 in local time with its offset, to the second."""
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _state(s: Silence, now: float) -> str:
    if s.ends_at <= now:
        return "expired"
    return "active" if s.starts_at <= now else "pending"


def _to_json(s: Silence, now: float) -> dict[str, object]:
    return {
        "id": s.id,
        "matchers": [{"name": m.name, "op": m.op, "value": m.value} for m in s.matchers],
        "matchers_text": ",".join(format_matcher(m) for m in s.matchers),
        "starts_at": format_time(s.starts_at),
        "ends_at": format_time(s.ends_at),
        "created_by": s.created_by,
        "comment": s.comment,
        "state": _state(s, now),
    }


def run_silence_add(
    store_path: Path, matchers: Sequence[str], *, out: TextIO, err: TextIO,
    duration_s: float | None = None, end: str | None = None, comment: str = "",
    author: str = "", clock: Callable[[], float] = time.time,
) -> int:
    """Parse the matchers and the end, store the silence, print its id (as ``amtool``)."""
    now = clock()
    try:
        parsed = parse_silence_matchers(matchers)
        ends_at = parse_end_time(end) if end is not None else now + (
            3600.0 if duration_s is None else duration_s)
    except (MatcherError, SilenceInputError) as exc:
        print(f"timeline-telemetry: {exc}", file=err)
        return EXIT_USAGE
    if ends_at <= now:
        why = (f"--end {end} is not in the future (now is {format_time(now)})"
               if end is not None else "--duration must be more than 0s, e.g. 2h")
        print(f"timeline-telemetry: {why}", file=err)
        return EXIT_USAGE
    store = AlertStore(store_path)
    try:
        s = store.add_silence(parsed, starts_at=now, ends_at=ends_at, created_by=author,
                              comment=comment)
    finally:
        store.close()
    print(s.id, file=out)
    return EXIT_OK


def run_silence_list(
    store_path: Path, *, out: TextIO, as_json: bool = False, expired: bool = False,
    clock: Callable[[], float] = time.time,
) -> int:
    """Active and pending silences (or, with ``expired``, the ended ones), newest end last."""
    now = clock()
    if Path(store_path).is_file():
        store = AlertStore(store_path)
        try:
            every = store.silences()
        finally:
            store.close()
    else:  # no store yet: nothing silenced, and nothing created by a read
        every = []
    chosen = sorted((s for s in every if (s.ends_at <= now) == expired),
                    key=lambda s: (s.ends_at, s.id))
    if as_json:
        json.dump([_to_json(s, now) for s in chosen], out, indent=2)
        print(file=out)
        return EXIT_OK
    rows = [("ID", "MATCHERS", "STARTS AT", "ENDS AT", "CREATED BY", "COMMENT")]
    rows += [(s.id, ",".join(format_matcher(m) for m in s.matchers), format_time(s.starts_at),
              format_time(s.ends_at), s.created_by, s.comment.replace("\n", " "))
             for s in chosen]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[5],
              file=out)
    return EXIT_OK


def run_silence_expire(
    store_path: Path, ids: Sequence[str], *, out: TextIO, err: TextIO,
    clock: Callable[[], float] = time.time,
) -> int:
    """End each silence now; an id may be a unique prefix. 2 if any is unknown, ambiguous
    or already expired (the others are still expired)."""
    now = clock()
    if not Path(store_path).is_file():
        print(f"timeline-telemetry: no silences yet (no alert store at {store_path})", file=err)
        return EXIT_USAGE
    code = EXIT_OK
    store = AlertStore(store_path)
    try:
        every = store.silences()
        for sid in ids:
            hits = [s for s in every if s.id == sid] or [
                s for s in every if sid and s.id.startswith(sid)]
            if len(hits) != 1:
                why = "no silence has" if not hits else f"{len(hits)} silences match"
                print(f"timeline-telemetry: {why} id {sid!r} (see 'timeline-telemetry "
                      "silence list --expired' for ended ones)", file=err)
                code = EXIT_USAGE
                continue
            s = hits[0]
            if s.ends_at <= now:
                print(f"timeline-telemetry: silence {s.id} already expired at "
                      f"{format_time(s.ends_at)}", file=err)
                code = EXIT_USAGE
                continue
            store.expire_silence(s.id, now)
            print(f"expired {s.id}", file=out)
    finally:
        store.close()
    return code

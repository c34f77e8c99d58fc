"""Alert history and silences in SQLite (``alerts.sqlite3`` in the data dir), so both
survive restarts: every firing/resolved/silenced event, the alerts firing at shutdown
(restored as firing, keeping their start time and notification state), and silences."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from timeline_telemetry.history.identity import (
    FileId,
    drop_stale_sidecars,
    file_id,
    replaced_why,
    salvage_into,
    sidecar_ids,
)
from timeline_telemetry.history.model import LabelMatcher

__all__ = ["AlertEvent", "AlertStore", "Silence"]

_log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, alertname TEXT NOT NULL, labels TEXT NOT NULL,
    event TEXT NOT NULL, value REAL, annotations TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alert_events_ts ON alert_events(ts);
CREATE TABLE IF NOT EXISTS alert_active (
    labels TEXT PRIMARY KEY, alertname TEXT NOT NULL, active_at REAL NOT NULL,
    fired_at REAL NOT NULL, notified_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL,
    ends_at REAL NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL);
"""


@dataclass(frozen=True)
class AlertEvent:
    """One line of alert history."""

    ts: float
    alertname: str
    labels: Mapping[str, str]
    event: str  # firing | resolved | silenced | flapping
    value: float
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class Silence:
    """Mutes notifications for alerts matching all ``matchers`` in ``[starts_at, ends_at)``."""

    id: str
    matchers: tuple[LabelMatcher, ...]
    starts_at: float
    ends_at: float
    created_by: str = ""
    comment: str = ""

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether an alert with ``labels`` is muted at ``now``."""
        return self.starts_at <= now < self.ends_at and all(
            m.matches(labels) for m in self.matchers
        )


def _dump(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


class AlertStore:
    """The SQLite file at ``path``; every method is thread-safe. ``keep_events`` bounds
    the history table (oldest dropped)."""

    def __init__(self, path: Path, *, keep_events: int = 100_000) -> None:
        self._path = Path(path)
        self._conn, self._identity = self._connect()
        self._lock = threading.Lock()
        self._keep = keep_events

    def _connect(self) -> tuple[sqlite3.Connection, FileId | None]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self._path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        self._sidecars = sidecar_ids(self._path)
        return conn, file_id(self._path)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def file_identity(self) -> FileId | None:
        """``(st_dev, st_ino)`` of the open file (see :meth:`reopen_if_replaced`)."""
        return self._identity

    def reopen_if_replaced(self) -> str | None:
        """Reopen when :attr:`path` no longer names the open file (removed, alone or with
        the data folder, while the agent ran). A removed file is rebuilt from the open one
        (history, firing set and silences kept); a file put in its place is opened as it
        is. Logs a warning and returns what happened; None while nothing changed."""
        with self._lock:
            why = replaced_why(self._path, self._identity)
            if why is None:
                return None
            kept = not self._path.exists() and salvage_into(self._conn, self._path)
            self._conn.close()
            drop_stale_sidecars(self._sidecars)
            self._conn, self._identity = self._connect()
        what = ("recreated it from the open copy, history and silences kept" if kept
                else "opened the file now there")
        msg = f"alert store {self._path} was {why} while in use; {what}"
        _log.warning("%s", msg)
        return msg

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()

    def record(self, events: Sequence[AlertEvent]) -> None:
        """Append events (one transaction)."""
        if not events:
            return
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT INTO alert_events(ts, alertname, labels, event, value, annotations) "
                "VALUES (?,?,?,?,?,?)",
                [(e.ts, e.alertname, _dump(e.labels), e.event, e.value, _dump(e.annotations))
                 for e in events],
            )
            self._conn.execute(
                "DELETE FROM alert_events WHERE id <= (SELECT MAX(id) FROM alert_events) - ?",
                (self._keep,),
            )

    def events(self, *, since: float = 0.0, limit: int = 1000) -> list[AlertEvent]:
        """The newest ``limit`` events since ``since``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT ts, alertname, labels, event, value, annotations FROM alert_events "
                "WHERE ts >= ? ORDER BY id DESC LIMIT ?", (since, limit)).fetchall()
        return [AlertEvent(r[0], r[1], json.loads(r[2]), r[3], r[4], json.loads(r[5]))
                for r in reversed(rows)]

    def save_active(self, rows: Sequence[tuple[Mapping[str, str], float, float, float]]) -> None:
        """Replace the saved firing set: ``(labels, active_at, fired_at, notified_at)``."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM alert_active")
            self._conn.executemany(
                "INSERT INTO alert_active VALUES (?,?,?,?,?)",
                [(_dump(lb), lb.get("alertname", ""), a, f, n) for lb, a, f, n in rows],
            )

    def load_active(self) -> list[tuple[dict[str, str], float, float, float]]:
        """The firing set saved last."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT labels, active_at, fired_at, notified_at FROM alert_active").fetchall()
        return [(json.loads(r[0]), r[1], r[2], r[3]) for r in rows]

    def add_silence(
        self, matchers: Sequence[LabelMatcher], *, starts_at: float, ends_at: float,
        created_by: str = "", comment: str = "",
    ) -> Silence:
        """Create a silence; returns it (with a new id)."""
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        import secrets  # here: it maps libcrypto (~3.4 MB resident) into every agent

        s = Silence(secrets.token_hex(16), tuple(matchers), starts_at, ends_at, created_by, comment)
        data = json.dumps([[m.name, m.op, m.value] for m in s.matchers])
        with self._lock, self._conn:
            self._conn.execute("INSERT INTO silences VALUES (?,?,?,?,?,?)",
                               (s.id, data, starts_at, ends_at, created_by, comment))
        return s

    def expire_silence(self, silence_id: str, now: float) -> bool:
        """End a silence now; False if unknown."""
        with self._lock, self._conn:
            cur = self._conn.execute("UPDATE silences SET ends_at = MIN(ends_at, ?) WHERE id = ?",
                                     (now, silence_id))
            return cur.rowcount > 0

    def silences(self, now: float | None = None) -> list[Silence]:
        """All silences (only those not yet ended, when ``now`` is given). The agent calls
        this every evaluation, so silences written by another process (``timeline-telemetry
        silence add``) apply at its next one; ended ones are filtered in SQL."""
        query = "SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences"
        with self._lock:
            rows = (self._conn.execute(query).fetchall() if now is None else
                    self._conn.execute(query + " WHERE ends_at > ?", (now,)).fetchall())
        return [Silence(r[0], tuple(LabelMatcher(*m) for m in json.loads(r[1])), r[2], r[3],
                        r[4], r[5]) for r in rows]


def alerts_from_file(path: Path) -> dict[str, object] | None:
    """What a stopped agent left in its alert store (active set, history, silences), for
    the diagnostics bundle; None if there is no store yet."""
    if not Path(path).is_file():
        return None
    store = AlertStore(path)
    try:
        return {
            "source": f"{path} (read directly; the agent may not be running)",
            "active": [
                {"labels": dict(labels), "active_at": a, "fired_at": f, "notified_at": n}
                for labels, a, f, n in store.load_active()
            ],
            "history": [
                {"ts": e.ts, "alertname": e.alertname, "labels": dict(e.labels),
                 "event": e.event, "value": e.value, "annotations": dict(e.annotations)}
                for e in sorted(store.events(limit=1000), key=lambda e: e.ts, reverse=True)
            ],
            "silences": [
                {"id": si.id, "matchers": [f"{m.name}{m.op}{m.value!r}" for m in si.matchers],
                 "starts_at": si.starts_at, "ends_at": si.ends_at,
                 "created_by": si.created_by, "comment": si.comment}
                for si in store.silences()
            ],
        }
    finally:
        store.close()


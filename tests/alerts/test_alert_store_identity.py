"""The alert store's file removed (alone or with its folder) under an open store: it is
noticed, rebuilt from the open file (history and silences kept), and written again."""

from __future__ import annotations

import shutil
from pathlib import Path

from timeline_telemetry.alerts.store import AlertEvent, AlertStore
from timeline_telemetry.history.identity import file_id
from timeline_telemetry.history.model import LabelMatcher


def test_a_removed_store_is_rebuilt_and_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "data" / "alerts.sqlite3"
    store = AlertStore(path)
    try:
        assert store.reopen_if_replaced() is None
        store.record([AlertEvent(1.0, "A", {"alertname": "A"}, "firing", 1.0, {})])
        store.add_silence([LabelMatcher("alertname", "=", "A")], starts_at=0.0, ends_at=9e9)
        path.unlink()
        said = store.reopen_if_replaced()
        assert said is not None and "was removed while in use" in said
        assert path.exists() and store.file_identity == file_id(path)
        assert [e.alertname for e in store.events()] == ["A"]
        assert len(store.silences()) == 1

        shutil.rmtree(tmp_path / "data")
        said = store.reopen_if_replaced()
        assert said is not None and "removed with its folder" in said
        store.record([AlertEvent(2.0, "B", {"alertname": "B"}, "firing", 1.0, {})])
    finally:
        store.close()
    again = AlertStore(path)
    try:
        assert [e.alertname for e in again.events()] == ["A", "B"]
    finally:
        again.close()

"""The public surface: ``__all__`` lists exactly what the packages export, and importing
them starts nothing (no threads, no sockets)."""

from __future__ import annotations

import importlib
import threading

import pytest


@pytest.mark.parametrize("name", ["timeline_telemetry.tracing", "timeline_telemetry.ingest",
                                  "timeline_telemetry.delivery"])
def test_all_names_exist_and_import_does_no_work(name: str) -> None:
    before = threading.active_count()
    mod = importlib.import_module(name)
    assert sorted(set(mod.__all__)) == sorted(mod.__all__)
    for item in mod.__all__:
        assert getattr(mod, item) is not None, item
    public = {n for n, v in vars(mod).items() if not n.startswith("_")
              and getattr(v, "__module__", "").startswith(name)}
    assert public <= set(mod.__all__)
    assert threading.active_count() == before

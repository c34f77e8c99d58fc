"""Names and bounds of the trace store's file and export, importable without protobuf (the
runtime reads them at start; the store itself loads protobuf on first use)."""

from __future__ import annotations

__all__ = ["EXPORT_LIMIT_MAX", "PERSIST_FILE"]

#: The trace store kept between runs, in the data dir (written at stop, read at start).
PERSIST_FILE = "trace-store.jsonl"
#: The most spans one export (an API answer, a bundle) holds.
EXPORT_LIMIT_MAX = 10_000

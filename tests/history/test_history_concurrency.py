"""One thread appends and flushes while others query: no errors, consistent reads."""

from __future__ import annotations

import threading

from timeline_telemetry.metrics.model import FlatSample

COLLECTIONS = 300
SERIES = 20


def test_append_while_querying(make_store, clock) -> None:
    store = make_store()
    t0 = clock.now
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(COLLECTIONS):
                ts = t0 + i
                store.append(ts, [FlatSample("s", (("i", str(j)),), float(i))
                                  for j in range(SERIES)])
                store.flush()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                result = store.query("s", start=t0, end=t0 + COLLECTIONS)
                lengths = {len(s.points) for s in result}
                # One transaction per flush: every series has the same number of points.
                assert len(lengths) <= 1, lengths
                n = lengths.pop() if lengths else 0
                assert not seen or n >= seen[-1]
                seen.append(n)
                store.query("s", {"i": "3"}, start=t0, end=t0 + COLLECTIONS, max_points=10)
                store.series()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader)
                                                   for _ in range(2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(seen) > 1
    final = store.query("s", start=t0, end=t0 + COLLECTIONS)
    assert len(final) == SERIES
    assert all(len(s.points) == COLLECTIONS for s in final)

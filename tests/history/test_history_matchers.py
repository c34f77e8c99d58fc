"""Label matchers with Prometheus semantics, applied through HistoryStore.query."""

from __future__ import annotations

import pytest

from timeline_telemetry.history import LabelMatcher
from timeline_telemetry.metrics.model import FlatSample

SERIES = [
    (("mountpoint", "/"),),
    (("device", "sda"), ("mountpoint", "/media")),
    (("mountpoint", "/media/cache"),),
    (),
]


@pytest.fixture
def store(make_store, clock):
    s = make_store()
    s.append(clock.now, [FlatSample("disk", labels, 1.0) for labels in SERIES])
    s.flush()
    return s


def selected(store, clock, matchers) -> list[tuple[tuple[str, str], ...]]:
    return [s.labels for s in store.query("disk", matchers, start=clock.now, end=clock.now)]


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ([], [0, 1, 2, 3]),
        ({"mountpoint": "/"}, [0]),
        ([LabelMatcher("mountpoint", "!=", "/")], [1, 2, 3]),
        ([LabelMatcher("mountpoint", "=~", "/media.*")], [1, 2]),
        ([LabelMatcher("mountpoint", "=~", "/med")], []),  # anchored: no partial match
        ([LabelMatcher("mountpoint", "=~", "/|/media")], [0, 1]),
        ([LabelMatcher("mountpoint", "!~", "/media.*")], [0, 3]),
        # An absent label is the empty string.
        ({"device": ""}, [0, 2, 3]),
        ([LabelMatcher("device", "!=", "")], [1]),
        ([LabelMatcher("device", "=~", "sd.*|")], [0, 1, 2, 3]),
        ([LabelMatcher("device", "=~", ".+")], [1]),
        ([LabelMatcher("mountpoint", "=~", "/.*"), LabelMatcher("device", "=", "")], [0, 2]),
    ],
)
def test_matchers_select_series(store, clock, matchers, expected) -> None:
    want = sorted(SERIES[i] for i in expected)
    assert selected(store, clock, matchers) == want


def test_bad_matchers_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown operator '=='"):
        LabelMatcher("a", "==", "b")
    with pytest.raises(ValueError, match="bad regex"):
        LabelMatcher("a", "=~", "(")

"""The Qt-free notification centre: coalescing, rate limit, Do not disturb."""

from __future__ import annotations

import pytest

from timeline_telemetry.notifications import Notice, NotificationCentre


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_several_notices_in_the_window_become_one() -> None:
    clock = Clock()
    c = NotificationCentre(coalesce_s=3, clock=clock)
    c.post(Notice("disk: Unhealthy", "99% used", "health:disk", 2))
    clock.now += 1
    c.post(Notice("memory: Warning", "90% used", "health:memory", 1))
    assert c.due() is None  # window still open
    assert c.next_due_in() == pytest.approx(2.0)
    clock.now += 2
    note = c.due()
    assert note is not None
    assert note.title == "2 telemetry changes"
    assert note.body == "disk: Unhealthy: 99% used\nmemory: Warning: 90% used"
    assert note.keys == ("health:disk", "health:memory")
    assert note.severity == 2
    assert c.due() is None


def test_a_flapping_item_shows_its_latest_state_only() -> None:
    clock = Clock()
    c = NotificationCentre(coalesce_s=1, clock=clock)
    c.post(Notice("disk: Unhealthy", "full", "health:disk", 2))
    c.post(Notice("disk: recovered", "ok", "health:disk", 0))
    clock.now += 1
    note = c.due()
    assert note is not None and note.title == "disk: recovered" and note.severity == 0


def test_rate_limit_holds_back_then_releases_folded() -> None:
    clock = Clock()
    c = NotificationCentre(coalesce_s=0, max_per_window=2, rate_window_s=60, clock=clock)
    for i in range(2):
        c.post(Notice(f"n{i}", "", f"k{i}"))
        assert c.due() is not None
    c.post(Notice("n2", "", "k2"))
    c.post(Notice("n3", "", "k3"))
    assert c.due() is None
    assert c.next_due_in() == pytest.approx(60.0)
    clock.now += 60
    note = c.due()
    assert note is not None and note.keys == ("k2", "k3")


def test_do_not_disturb_drops_and_counts() -> None:
    clock = Clock()
    c = NotificationCentre(coalesce_s=0, clock=clock)
    c.post(Notice("pending", "", "a"))
    c.do_not_disturb = True
    c.post(Notice("dropped", "", "b"))
    assert c.due() is None
    assert c.suppressed == 2
    c.do_not_disturb = False
    c.post(Notice("shown", "", "c"))
    note = c.due()
    assert note is not None and note.title == "shown"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        NotificationCentre(max_per_window=0)

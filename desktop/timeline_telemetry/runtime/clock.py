"""Wall-clock steps and suspends, seen by comparing clocks at each tick.

``CLOCK_BOOTTIME`` (Linux) advances during suspend, ``time.monotonic`` does not and neither
follows wall-clock steps. So between two ticks:

* wall delta minus boottime delta beyond a tolerance is a **step** of the wall clock (NTP,
  a user, libfaketime); the detector keeps the summed step as :attr:`ClockWatch.offset_s`
  until the wall clock comes back (within the tolerance), and :meth:`ClockWatch.now` is the
  wall clock corrected by it. Between two ticks ``now`` also checks the wall clock against
  the steady clock since the last tick, so a step that the next tick has not seen yet never
  leaks into a stamp (a sample taken just after the clock came back would otherwise be
  stamped an hour early);
* a boottime delta (monotonic where boottime is missing) much larger than the interval is a
  **suspend** (or a stopped process: SIGSTOP, a debugger, a VM paused).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["ClockEvent", "ClockWatch", "boottime"]

_log = logging.getLogger("timeline_telemetry.runtime")

#: The smallest wall-clock step (seconds) that counts; NTP slews smaller ones anyway.
MIN_TOLERANCE_S = 5.0
#: A step still in effect after this long (seconds) is taken as the right time: a clock
#: that woke wrong and was then set right by NTP or the user must not be "corrected" back
#: to the wrong time for the rest of the run, with retention held all along.
ADOPT_AFTER_S = 600.0


def boottime() -> Callable[[], float] | None:
    """``CLOCK_BOOTTIME`` as a function where the OS has it, else None."""
    clock_id = getattr(time, "CLOCK_BOOTTIME", None)
    if clock_id is None:
        return None
    try:
        time.clock_gettime(clock_id)
    except OSError:
        return None
    return lambda: time.clock_gettime(clock_id)


@dataclass(frozen=True, slots=True)
class ClockEvent:
    """One detection. ``kind``: ``step`` (the wall clock moved by ``step_s`` against the
    steady clock) or ``suspend`` (``gap_s`` seconds passed with no tick). ``offset_s``: the
    wall clock's offset still in effect after this tick (0 once it came back). ``at``: the
    corrected wall-clock time of the detection."""

    kind: Literal["step", "suspend"]
    at: float
    offset_s: float
    step_s: float = 0.0
    gap_s: float = 0.0


class ClockWatch:
    """Call :meth:`tick` about every ``interval_s`` (from any thread); it returns what it
    detected since the last tick, and logs one line per detection.

    The clocks are constructor arguments so tests drive them; ``boottime=None`` falls back to
    ``monotonic`` for both the step and the suspend test.
    """

    def __init__(
        self,
        interval_s: float,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        boottime: Callable[[], float] | None = None,
        tolerance_s: float | None = None,
        adopt_after_s: float = ADOPT_AFTER_S,
    ) -> None:
        self.interval_s = max(interval_s, 0.001)
        self.adopt_after_s = adopt_after_s
        self.tolerance_s = (tolerance_s if tolerance_s is not None
                            else max(MIN_TOLERANCE_S, 3 * self.interval_s))
        self._wall = wall
        self._steady = boottime if boottime is not None else monotonic
        self._lock = threading.Lock()
        self._offset = 0.0
        self._last: tuple[float, float] | None = None
        #: (corrected wall, steady) at the last tick: what :meth:`now` extrapolates from.
        self._anchor: tuple[float, float] | None = None
        #: Steady time when the step in effect began (None: no step in effect).
        self._stepped_at: float | None = None

    @property
    def offset_s(self) -> float:
        """How far the wall clock is ahead (negative: behind) of where it was, in seconds."""
        return self._offset

    def now(self) -> float:
        """The wall clock minus the step in effect; the steady clock's reckoning from the last
        tick instead where the two disagree by more than the tolerance (a step not yet
        ticked)."""
        wall, anchor = self._wall() - self._offset, self._anchor
        if anchor is None:
            return wall
        reckoned = anchor[0] + (self._steady() - anchor[1])
        return reckoned if abs(wall - reckoned) > self.tolerance_s else wall

    def tick(self) -> list[ClockEvent]:
        """Compare the clocks with the last tick; see the module docstring."""
        with self._lock:
            wall, steady = self._wall(), self._steady()
            last, self._last = self._last, (wall, steady)
            if last is None:
                self._anchor = (wall - self._offset, steady)
                return []
            elapsed = steady - last[1]
            drift = (wall - last[0]) - elapsed
            events: list[ClockEvent] = []
            if elapsed - self.interval_s > self.tolerance_s:
                events.append(ClockEvent("suspend", wall - self._offset, self._offset,
                                         gap_s=elapsed))
                _log.warning("resumed after %.0f s suspended or stopped", elapsed)
            if abs(drift) > self.tolerance_s:
                self._offset += drift
                if abs(self._offset) <= self.tolerance_s:
                    self._offset = 0.0
                events.append(ClockEvent("step", wall - self._offset, self._offset,
                                         step_s=drift))
                if self._offset:
                    _log.warning("wall clock stepped %+.0f s; samples are stamped %+.0f s "
                                 "(corrected) and retention waits until it comes back",
                                 drift, -self._offset)
                else:
                    _log.warning("wall clock stepped %+.0f s (back where it was)", drift)
                self._stepped_at = steady if self._offset else None
            elif self._offset and self._stepped_at is not None \
                    and steady - self._stepped_at >= self.adopt_after_s:
                _log.warning("wall clock still %+.0f s off after %.0f min: taking it as the "
                             "right time (samples from now on are stamped by it)",
                             self._offset, (steady - self._stepped_at) / 60)
                events.append(ClockEvent("step", wall, 0.0, step_s=0.0))
                self._offset, self._stepped_at = 0.0, None
            self._anchor = (wall - self._offset, steady)
            return events

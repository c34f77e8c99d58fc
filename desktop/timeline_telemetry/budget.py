"""The monitor's self-budget: it must never cost the editor frames.

Each collection, the manager hands :class:`SelfBudget` the agent's own CPU (% of one core)
and RSS, and whether the editor reports a render or export in progress. The budget answers
with a back-off factor: 1 = sample everything every interval; N = costly collectors run
every N-th interval and the process rescan is N times rarer. Over budget for two readings
in a row doubles the factor (up to ``max_backoff``); well under it (CPU below half the
budget, memory below 90 %) for six readings halves it again, so it does not oscillate.
While the editor renders, the factor is at least ``render_backoff``.

CPU is judged on its mean over the last ``window_s`` seconds, not on one interval: at a 1 s
interval a single reading swings with whatever that second held (a history flush, the
30-second process rescan, a scrape), and the budget must not chase those. The first
``warmup_s`` seconds are not judged at all: start-up (imports, the first full scan) is not
what the monitor costs.

The budget is for the monitor in the background (tray only, or headless). While the user has
the dashboard open (``interactive``) the plots cost what they cost and the user wants live
data, so readings are not counted and the factor is back to 1 (rendering still backs off:
the editor's frames come first). Counting starts afresh when the dashboard closes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["BudgetDecision", "SelfBudget"]

#: Readings over (or well under) budget in a row before the factor changes.
_RAISE_AFTER = 2
_LOWER_AFTER = 6


@dataclass(frozen=True, slots=True)
class BudgetDecision:
    """How much to back off, and why (empty when sampling normally)."""

    factor: int
    over_budget: bool
    rendering: bool
    reason: str
    interactive: bool = False


class SelfBudget:
    """Turns the agent's own cost readings into a back-off factor (not thread-safe: the
    collection loop owns it)."""

    def __init__(
        self,
        *,
        cpu_percent: float,
        rss_bytes: float,
        max_backoff: int = 8,
        render_backoff: int = 4,
        window_s: float = 15.0,
        warmup_s: float = 10.0,
    ) -> None:
        self.cpu_limit = cpu_percent
        self.window_s = window_s
        self.warmup_s = warmup_s
        self._cpu_readings: deque[tuple[float, float]] = deque()
        self._first: float | None = None
        self.rss_limit = rss_bytes
        self.max_backoff = max(1, max_backoff)
        self.render_backoff = max(1, render_backoff)
        self._budget_factor = 1
        self._over = 0
        self._under = 0
        self.decision = BudgetDecision(1, False, False, "")

    def restart_warmup(self) -> None:
        """Start a new warm-up at the next reading (after a suspend or a clock step the
        CPU readings span time the agent did not run)."""
        self._first = None

    def update(
        self,
        *,
        cpu_percent: float | None,
        rss_bytes: float | None,
        rendering: bool,
        interactive: bool = False,
        now: float | None = None,
    ) -> BudgetDecision:
        """Take one reading (None = not measured yet) and return the new decision.
        ``interactive``: the dashboard is open, so the reading is not held against the
        budget. ``now`` (seconds, any clock) enables the CPU window and the warm-up; without
        it every reading is judged on its own."""
        cpu = cpu_percent if cpu_percent is not None else 0.0
        rss = rss_bytes if rss_bytes is not None else 0.0
        warming = False
        if now is not None:
            if self._first is None or interactive:
                self._first = now  # closing the dashboard starts a new warm-up
                self._cpu_readings.clear()
            warming = now - self._first < self.warmup_s
            if cpu_percent is not None and not warming:
                self._cpu_readings.append((now, cpu))
            while self._cpu_readings and self._cpu_readings[0][0] <= now - self.window_s:
                self._cpu_readings.popleft()
            if self._cpu_readings:
                cpu = sum(c for _, c in self._cpu_readings) / len(self._cpu_readings)
        over = cpu > self.cpu_limit or rss > self.rss_limit
        well_under = cpu < 0.5 * self.cpu_limit and rss < 0.9 * self.rss_limit
        if warming:
            over = well_under = False
            self._over = self._under = 0
        elif interactive:
            self._budget_factor = 1
            self._over = self._under = 0
        elif over:
            self._over += 1
            self._under = 0
            if self._over >= _RAISE_AFTER:
                self._budget_factor = min(self.max_backoff, self._budget_factor * 2)
                self._over = 0
                self._cpu_readings.clear()  # judge the new rate on its own readings
        elif well_under:
            self._under += 1
            self._over = 0
            if self._under >= _LOWER_AFTER:
                self._budget_factor = max(1, self._budget_factor // 2)
                self._under = 0
                self._cpu_readings.clear()
        else:
            self._over = self._under = 0
        factor = self._budget_factor
        reasons = []
        if factor > 1:
            reasons.append(
                f"over budget (CPU {cpu:.1f}% of {self.cpu_limit:g}%, "
                f"RSS {rss / 1e6:.0f} of {self.rss_limit / 1e6:.0f} MB)"
            )
        if rendering and self.render_backoff > factor:
            factor = self.render_backoff
        if rendering:
            reasons.append("the editor is rendering")
        reason = f"sampling 1/{factor}: " + "; ".join(reasons) if factor > 1 else ""
        self.decision = BudgetDecision(factor, over and not interactive, rendering, reason,
                                       interactive)
        return self.decision

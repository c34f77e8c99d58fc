"""HealthCheckManager: the design document's manager, with bounded checks, a cache and transitions.

A *round* runs the checks that are due (all of them when forced, else those whose result is
older than ``cache_ttl``) through a :class:`CheckRunner`, one at a time or ``max_parallel`` at
a time with ``parallel_checks``. After each round the manager records status transitions
(per check, and ``system`` for the overall status) in a bounded history, then calls the
transition subscribers and the round listeners on the thread that ran the round, outside its
locks. ``start`` runs rounds every ``check_interval`` on one thread that waits on an Event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import MappingProxyType, TracebackType
from typing import TypeVar

from timeline_telemetry.config.schema import HealthConfig

from .model import (
    HealthCheck,
    HealthCheckResult,
    HealthReport,
    HealthStatus,
    HealthTransition,
    worst,
)
from .runner import CheckRunner, Planned

__all__ = ["OVERALL_COMPONENT", "HealthCheckManager"]

_log = logging.getLogger(__name__)

#: The component name of overall-status transitions (a check may not use it).
OVERALL_COMPONENT = "system"

TransitionListener = Callable[[HealthTransition], None]
RoundListener = Callable[[HealthReport], None]
_T = TypeVar("_T")


class HealthCheckManager:
    """Owns the checks, their latest results and the periodic loop. Thread-safe.

    Rounds never overlap (a caller waits for the running one). ``clock`` is wall time (result
    timestamps), ``monotonic`` measures durations, deadlines and cache age.
    """

    def __init__(
        self,
        *,
        check_interval: float = 30.0,
        cache_ttl: float = 60.0,
        default_timeout: float = 5.0,
        parallel_checks: bool = False,
        max_parallel: int = 8,
        history_size: int = 1000,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not check_interval > 0:
            raise ValueError(f"check_interval must be > 0 seconds, got {check_interval!r}")
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be >= 1, got {max_parallel}")
        self._interval = check_interval
        self._ttl = _non_negative("cache_ttl", cache_ttl)
        self._default_timeout = _positive("default_timeout", default_timeout)
        self._parallel = parallel_checks
        self._max_parallel = max_parallel
        self._clock = clock
        self._mono = monotonic
        self._runner = CheckRunner(idle_timeout=max(120.0, 3 * check_interval),
                                   clock=clock, monotonic=monotonic)
        self._lock = threading.Lock()  # state below
        self._round_lock = threading.Lock()  # one round at a time
        self._checks: dict[str, HealthCheck] = {}
        self._results: dict[str, HealthCheckResult] = {}
        self._finished_at: dict[str, float] = {}  # monotonic, for the cache
        self._overall = HealthStatus.UNKNOWN
        self._history: deque[HealthTransition] = deque(maxlen=history_size)
        self._seq = 0
        self._rounds = 0
        self._subscribers: list[TransitionListener] = []
        self._round_listeners: list[RoundListener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rounds_cv = threading.Condition(self._lock)

    @classmethod
    def from_config(
        cls,
        config: HealthConfig,
        *,
        max_parallel: int = 8,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> HealthCheckManager:
        """A manager with ``health``'s interval, cache TTL, default timeout and parallelism."""
        return cls(
            check_interval=config.check_interval,
            cache_ttl=config.cache_ttl,
            default_timeout=config.default_timeout,
            parallel_checks=config.parallel_checks,
            max_parallel=max_parallel,
            clock=clock,
            monotonic=monotonic,
        )

    # -- the design document's API --------------------------------------------------------
    def add_check(self, check: HealthCheck) -> None:
        """Add a check; ``ValueError`` if its name is taken (or is ``system``)."""
        name = check.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"a health check needs a non-empty name, got {name!r}")
        if name == OVERALL_COMPONENT:
            raise ValueError(f"{name!r} is the overall status; give the check another name")
        with self._lock:
            if name in self._checks:
                raise ValueError(f"a health check named {name!r} already exists")
            self._checks[name] = check

    def remove_check(self, name: str) -> bool:
        """Remove a check and its result; False if there was none by that name."""
        with self._lock:
            if self._checks.pop(name, None) is None:
                return False
            self._results.pop(name, None)
            self._finished_at.pop(name, None)
        self._runner.forget(name)
        return True

    def set_cache_ttl(self, seconds: float) -> None:
        """How long a result is reused by :meth:`check_all` (0 = always run)."""
        self._ttl = _non_negative("cache_ttl", seconds)

    def set_default_timeout(self, seconds: float) -> None:
        """The timeout of checks without one of their own."""
        self._default_timeout = _positive("default_timeout", seconds)

    def set_parallel_checks(self, parallel: bool) -> None:
        """Run a round's checks concurrently (up to ``max_parallel``) or one after another."""
        self._parallel = parallel

    def check_all(self, *, force: bool = False) -> HealthReport:
        """Run the due checks (every check with ``force``) and return the full report.

        Takes at most the sum of the due checks' timeouts (their maximum when parallel).
        """
        with self._round_lock:
            with self._lock:
                now = self._mono()
                due = [
                    Planned(n, c, self._timeout_of(c))
                    for n, c in self._checks.items()
                    if force or n not in self._results or now - self._finished_at[n] >= self._ttl
                ]
            results = self._runner.run(due, self._max_parallel if self._parallel else 1)
            report, transitions = self._commit(results)
        self._notify(report, transitions)
        return report

    # -- reading --------------------------------------------------------------------------
    def report(self) -> HealthReport:
        """The latest results without running anything (never-run checks are Unknown)."""
        with self._lock:
            return self._report_locked(frozenset())

    @property
    def check_names(self) -> list[str]:
        """Names of the checks, in the order they were added."""
        with self._lock:
            return list(self._checks)

    @property
    def overall_status(self) -> HealthStatus:
        """The worst status of the last round (Unknown before the first)."""
        return self._overall

    @property
    def completed_rounds(self) -> int:
        """Rounds run so far."""
        return self._rounds

    @property
    def running(self) -> bool:
        """True while the periodic loop runs."""
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def round_in_progress(self) -> bool:
        """True while a round runs (readers that must not wait use :meth:`report`)."""
        return self._round_lock.locked()

    @property
    def stuck_checks(self) -> list[str]:
        """Checks still running past their timeout (not restarted until they return)."""
        return self._runner.stuck()

    @property
    def thread_count(self) -> int:
        """Worker threads alive now (at most the parallelism plus the stuck checks)."""
        return self._runner.thread_count

    def transitions(self, since: float | None = None) -> list[HealthTransition]:
        """Kept transitions, oldest first; with ``since`` only those strictly after that
        wall-clock time. The history keeps the last ``history_size``."""
        with self._lock:
            return [t for t in self._history if since is None or t.when > since]

    def subscribe(self, callback: TransitionListener) -> Callable[[], None]:
        """Call ``callback(transition)`` for every future transition; returns unsubscribe.

        Called on the round's thread after the round; keep it short and do not call back into
        a blocking manager method. Exceptions are logged and ignored.
        """
        return self._add_listener(self._subscribers, callback)

    def add_round_listener(self, callback: RoundListener) -> Callable[[], None]:
        """Call ``callback(report)`` after every round (e.g. to record the health metrics)."""
        return self._add_listener(self._round_listeners, callback)

    def wait_for_rounds(self, n: int, timeout_s: float) -> bool:
        """Block until ``n`` rounds completed; False on timeout (for tools and tests)."""
        deadline = time.monotonic() + timeout_s
        with self._rounds_cv:
            while self._rounds < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._rounds_cv.wait(left)
        return True

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Run a round now and then every ``check_interval`` on one background thread."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="telemetry-health-loop",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop and the idle workers, joined with a deadline; idempotent.

        A check that hangs keeps its (daemon) thread; it is logged, not waited for.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _log.warning("health loop did not stop within %.1fs", timeout_s)
        self._runner.close(deadline)

    def __enter__(self) -> HealthCheckManager:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------
    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                self.check_all(force=True)
            except Exception:
                _log.exception("health round failed")
            next_tick += self._interval
            now = time.monotonic()
            if next_tick < now:  # overran: skip missed rounds instead of bursting
                next_tick = now + self._interval - ((now - next_tick) % self._interval)
            self._stop.wait(next_tick - now)

    def _timeout_of(self, check: HealthCheck) -> float:
        own = getattr(check, "timeout", None)
        return float(own) if isinstance(own, int | float) and own > 0 else self._default_timeout

    def _commit(
        self, results: dict[str, HealthCheckResult]
    ) -> tuple[HealthReport, list[HealthTransition]]:
        transitions: list[HealthTransition] = []
        with self._lock:
            now = self._mono()
            for name, res in results.items():
                if name not in self._checks:  # removed during the round
                    continue
                old = self._results.get(name)
                old_status = old.status if old is not None else HealthStatus.UNKNOWN
                if res.status is not old_status:
                    transitions.append(self._transition(name, old_status, res))
                self._results[name] = res
                self._finished_at[name] = now
            overall = worst(
                self._results.get(n, _NOT_RUN).status for n in self._checks
            ) if self._checks else HealthStatus.UNKNOWN
            if overall is not self._overall:
                why = "; ".join(f"{t.component}: {t.message}" for t in transitions) or (
                    "checks changed")
                transitions.append(self._transition(
                    OVERALL_COMPONENT, self._overall,
                    HealthCheckResult(overall, why, self._clock())))
                self._overall = overall
            self._history.extend(transitions)
            self._rounds += 1
            self._rounds_cv.notify_all()
            report = self._report_locked(frozenset(results))
        return report, transitions

    def _transition(self, name: str, old: HealthStatus, res: HealthCheckResult) -> HealthTransition:
        self._seq += 1
        return HealthTransition(name, old, res.status, res.timestamp or self._clock(),
                                res.message, self._seq)

    def _report_locked(self, fresh: frozenset[str]) -> HealthReport:
        results = {n: self._results.get(n, _NOT_RUN) for n in self._checks}
        kinds = {n: str(getattr(c, "kind", "custom")) for n, c in self._checks.items()}
        overall = worst(r.status for r in results.values()) if results else HealthStatus.UNKNOWN
        return HealthReport(
            overall=overall,
            results=MappingProxyType(results),
            kinds=MappingProxyType(kinds),
            fresh=fresh & results.keys(),
            completed_rounds=self._rounds,
            timestamp=self._clock(),
        )

    def _add_listener(self, group: list[Callable[[_T], None]],
                      callback: Callable[[_T], None]) -> Callable[[], None]:
        with self._lock:
            group.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in group:
                    group.remove(callback)

        return unsubscribe

    def _notify(self, report: HealthReport, transitions: list[HealthTransition]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
            round_listeners = list(self._round_listeners)
        for t in transitions:
            for cb in subscribers:
                try:
                    cb(t)
                except Exception:
                    _log.exception("health transition subscriber failed")
        for rcb in round_listeners:
            try:
                rcb(report)
            except Exception:
                _log.exception("health round listener failed")


_NOT_RUN = HealthCheckResult(HealthStatus.UNKNOWN, "not checked yet")


def _non_negative(what: str, seconds: float) -> float:
    if not seconds >= 0:
        raise ValueError(f"{what} must be >= 0 seconds, got {seconds!r}")
    return float(seconds)


def _positive(what: str, seconds: float) -> float:
    if not seconds > 0:
        raise ValueError(f"{what} must be > 0 seconds, got {seconds!r}")
    return float(seconds)

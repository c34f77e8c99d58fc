"""What each alert action last heard about each alert, and what it must hear next.

The manager says, every evaluation, what state each alert is in (:class:`Want`); the
:class:`DeliveryLedger` compares it with what each action last heard and plans the
notifications that bring the action up to date. This is what keeps every receiver's
sequence valid:

* a firing is sent before its resolve; a resolve goes only to an action that heard the
  firing (even when the alert has since vanished, e.g. its rule was removed);
* nothing is sent twice in a row to a notifying action, except a deliberate repeat of a
  still-firing alert after ``repeat_interval_s``;
* a rule's cooldown (and a silence) *delays* a notification, never drops it: while it lasts
  nothing is sent; when it ends, the action hears the alert's state at that moment (a
  re-fire that resolved again inside the cooldown is merged away: the action already
  heard "resolved").

An action with ``resend_delay_s`` (Alertmanager) mirrors state the way Prometheus's
notifier does (``rules/alerting.go``: ``needsSending``, ``sendAlerts``): an alert is
(re-)sent when it resolved since the last send or when more than ``resend_delay_s``
passed since then; a firing alert carries ``endsAt`` = now + 4 * max(evaluation interval,
resend delay) so the receiver keeps it only while we keep re-sending; a resolved one
carries its resolve time and is re-sent while the rule retains it (15 minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from timeline_telemetry.metrics.model import Labels

from .actions.base import AlertItem

__all__ = ["ActionPolicy", "DeliveryLedger", "Heard", "Planned", "Want"]

FIRING = "firing"
RESOLVED = "resolved"


@dataclass(frozen=True)
class ActionPolicy:
    """How one action hears about alerts.

    ``repeat_interval_s``: a still-firing alert is notified again this long after the last
    notification to this action (0 = never; the receiver dedups, as PagerDuty does).
    ``resend_delay_s``: set for an action that mirrors alert state (Alertmanager); see the
    module docstring. ``repeat_interval_s`` is then unused.
    ``group_by``: label names whose values group this action's alerts into notifications
    (see :mod:`.actions.grouping`); None coalesces per rule, as before.
    """

    repeat_interval_s: float = 0.0
    resend_delay_s: float | None = None
    group_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Want:
    """One alert's state at this evaluation: ``item`` (status ``firing`` or ``resolved``,
    a resolved one with ``ends_at`` = its resolve time), the rule it belongs to, whether
    notifications about it are held back now (``muted``: a silence, or a firing that began
    silenced), and the rule's ``cooldown_s`` between firing notifications."""

    rule: str
    item: AlertItem
    muted: bool = False
    cooldown_s: float = 0.0


@dataclass(frozen=True)
class Heard:
    """What one action last heard about one alert: ``status`` at ``at`` (seconds);
    ``fired_at`` = when it last heard a *new* firing (the cooldown counts from it);
    ``item``: the alert as last sent (a later resolve of a vanished alert is built from it)."""

    status: str
    at: float
    fired_at: float
    item: AlertItem
    rule: str


@dataclass(frozen=True)
class Planned:
    """One notification-worthy change for one action: send ``item`` about ``key``."""

    rule: str
    key: Labels
    item: AlertItem


class DeliveryLedger:
    """Per action and per alert, what was heard. Not thread-safe: the manager holds its
    lock around every call."""

    def __init__(self) -> None:
        self._heard: dict[str, dict[Labels, Heard]] = {}

    def plan(
        self,
        action: str,
        policy: ActionPolicy,
        wants: Mapping[Labels, Want],
        t: float,
        *,
        interval_s: float,
        targets: Callable[[str], bool] = lambda rule: True,
        is_muted: Callable[[Mapping[str, str]], bool] = lambda labels: False,
    ) -> list[Planned]:
        """What ``action`` must hear at ``t`` (seconds). ``targets(rule)``: whether the rule
        notifies this action; ``is_muted(labels)``: whether a silence holds back an alert
        the rule no longer reports. Forgets resolved alerts the rules no longer retain."""
        heard = self._heard.setdefault(action, {})
        sync = policy.resend_delay_s is not None
        resend = policy.resend_delay_s or 0.0
        out: list[Planned] = []
        for key in [k for k in heard if k not in wants]:
            gone = heard[key]
            if gone.status == RESOLVED:
                del heard[key]  # no longer retained: nothing more to say about it
            elif not is_muted(gone.item.labels):  # it heard the firing: close it
                out.append(Planned(gone.rule, key,
                                   replace(gone.item, status=RESOLVED, ends_at=t)))
        for key, w in wants.items():
            if not targets(w.rule):
                continue
            h = heard.get(key)
            if w.item.status == FIRING:
                item = w.item
                if sync:
                    item = replace(item, ends_at=t + 4 * max(interval_s, resend))
                if h is None or h.status == RESOLVED:
                    if w.muted or (h is not None and t - h.fired_at < w.cooldown_s):
                        continue  # held back, not lost: sent once the cooldown/silence ends
                    out.append(Planned(w.rule, key, item))
                elif sync:
                    # Prometheus re-sends even what a local silence holds back: the
                    # receiver heard it firing and would otherwise expire it (resolve it).
                    if h.at + resend < t:
                        out.append(Planned(w.rule, key, item))
                elif (not w.muted and policy.repeat_interval_s > 0
                      and t - h.at >= policy.repeat_interval_s):
                    out.append(Planned(w.rule, key, item))
            elif h is not None and not w.muted and (
                    h.status == FIRING or (sync and h.at + resend < t)):
                out.append(Planned(w.rule, key, w.item))
        return out

    def forget(self, action: str) -> None:
        """Drop what ``action`` heard (its receiver was replaced or removed)."""
        self._heard.pop(action, None)

    def record(self, action: str, sent: Sequence[Planned], t: float) -> None:
        """``sent`` was handed to ``action``'s queue at ``t``."""
        heard = self._heard.setdefault(action, {})
        for p in sent:
            prev = heard.get(p.key)
            fired_at = prev.fired_at if prev is not None else 0.0
            if p.item.status == FIRING and (prev is None or prev.status != FIRING):
                fired_at = t
            heard[p.key] = Heard(p.item.status, t, fired_at, p.item, p.rule)

    def last_fired(self, key: Labels) -> float | None:
        """When any action last heard a new firing of ``key`` that it still believes
        (None: none did): what the alert store keeps across a restart."""
        return max((h.fired_at for by in self._heard.values()
                    if (h := by.get(key)) is not None and h.status == FIRING), default=None)

    def restore(self, actions: Sequence[str], rule: str, key: Labels, item: AlertItem,
                fired_at: float) -> None:
        """After a restart: every action in ``actions`` heard ``item`` firing at
        ``fired_at`` (the store keeps one time per alert, not one per action)."""
        for action in actions:
            self._heard.setdefault(action, {})[key] = Heard(FIRING, fired_at, fired_at,
                                                            item, rule)

    def heard(self, action: str, key: Labels) -> Heard | None:
        """What ``action`` last heard about ``key`` (tests, diagnostics)."""
        return self._heard.get(action, {}).get(key)

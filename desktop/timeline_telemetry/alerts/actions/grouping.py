"""Alert groups per action, formed as Alertmanager forms them.

An action's ``group_by`` (label names) picks the labels whose values make an alert's group:
``("alertname",)`` (the default, as the storm coalescing of
:mod:`timeline_telemetry.alerts.notify` does today: one group per rule),
``("alertname", "host")`` one group per rule and host, ``("...",)`` every label (one alert
per group, Alertmanager's special value) and ``()`` every alert in one group (Alertmanager's
meaning of an empty ``group_by``). A label an alert lacks counts as empty.

The group key is Alertmanager's text form (``{}:{alertname="HighCPUUsage"}``) and
:func:`group_hash` its SHA-256 (Alertmanager's ``Key.Hash()``: the PagerDuty ``dedup_key``,
the mail thread's root). :class:`GroupTracker` remembers, per action, which alerts of each
group are still firing, so a PagerDuty ``resolve`` goes out only when the whole group has
resolved and a mail knows whether it opens a thread or continues one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .base import AlertItem

__all__ = [
    "ALL_LABELS",
    "DEFAULT_GROUP_BY",
    "AlertGroup",
    "GroupTracker",
    "group_hash",
    "group_key",
    "group_labels",
]

#: ``group_by: ["..."]``: group by every label (Alertmanager's spelling).
ALL_LABELS = "..."
#: What every action uses unless configured: one group per rule.
DEFAULT_GROUP_BY: tuple[str, ...] = ("alertname",)


def group_labels(labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """The labels of ``labels`` that ``group_by`` names (all of them for ``"..."``)."""
    if ALL_LABELS in group_by:
        return dict(labels)
    return {k: labels[k] for k in group_by if labels.get(k)}


def group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> str:
    """Alertmanager's group key for an alert with ``labels`` (the root route's ``{}``)."""
    shown = ", ".join(f"{k}={json.dumps(v)}"
                      for k, v in sorted(group_labels(labels, group_by).items()))
    return "{}:{" + shown + "}"


def group_hash(key: str) -> str:
    """SHA-256 of a group key, hex (Alertmanager's ``Key.Hash()``)."""
    import hashlib  # here: hashlib maps libcrypto (~3.4 MB resident) into every agent

    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class AlertGroup:
    """One group as one action sees it after a notification.

    ``alerts``: this notification's alerts of the group; ``firing``: every alert of the
    group still firing (earlier ones included); ``resolved``: those this notification
    resolves; ``opened``: this notification starts the group's episode (its first firing);
    ``started_at``: when the episode began (the earliest ``starts_at`` seen)."""

    key: str
    labels: Mapping[str, str]
    alerts: tuple[AlertItem, ...]
    firing: tuple[AlertItem, ...]
    resolved: tuple[AlertItem, ...]
    opened: bool
    started_at: float

    @property
    def hash(self) -> str:
        """:func:`group_hash` of the key."""
        return group_hash(self.key)

    @property
    def all_resolved(self) -> bool:
        """Nothing of the group fires any more."""
        return not self.firing


@dataclass
class _State:
    started_at: float
    firing: dict[str, AlertItem] = field(default_factory=dict)


def _split(alerts: Iterable[AlertItem], group_by: Sequence[str]
           ) -> dict[str, list[AlertItem]]:
    out: dict[str, list[AlertItem]] = {}
    for a in alerts:
        out.setdefault(group_key(a.labels, group_by), []).append(a)
    return out


class GroupTracker:
    """The firing alerts of each group one action has been told about.

    Not thread-safe: one per sender, used from its delivery worker. ``update`` is
    idempotent, so a retried delivery sees the same groups. After a restart the tracker is
    empty: a resolve then counts as the group's last (the firing ones are re-sent).
    Fully resolved groups are forgotten, and at most ``max_groups`` are kept (oldest go)."""

    def __init__(self, group_by: Sequence[str] = DEFAULT_GROUP_BY, *,
                 max_groups: int = 10_000) -> None:
        self.group_by = tuple(group_by)
        self._max = max_groups
        self._groups: dict[str, _State] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def update(self, alerts: Iterable[AlertItem]) -> list[AlertGroup]:
        """Apply one notification's alerts; the groups they touch, in first-seen order."""
        out: list[AlertGroup] = []
        for key, items in _split(alerts, self.group_by).items():
            state = self._groups.get(key)
            opened = state is None or not state.firing
            if state is None:
                state = _State(min(a.starts_at for a in items))
            for a in items:
                if a.status == "resolved":
                    state.firing.pop(a.fingerprint, None)
                else:
                    state.firing[a.fingerprint] = a
                    state.started_at = min(state.started_at, a.starts_at)
            opened = opened and bool(state.firing)
            if state.firing:
                self._groups[key] = state
                while len(self._groups) > self._max:
                    del self._groups[next(iter(self._groups))]
            else:
                self._groups.pop(key, None)
            out.append(AlertGroup(
                key, group_labels(items[0].labels, self.group_by), tuple(items),
                tuple(state.firing.values()),
                tuple(a for a in items if a.status == "resolved"), opened, state.started_at))
        return out

"""Values the history hands out and takes in: tiers, label matchers, query results, errors."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from timeline_telemetry.metrics.model import Labels

__all__ = [
    "HistoryError",
    "LabelMatcher",
    "SeriesData",
    "Stat",
    "Tier",
    "canonical_labels",
    "labels_from_json",
    "labels_to_json",
    "to_matchers",
]


class HistoryError(Exception):
    """The history cannot do what was asked (closed store, unusable file, bad argument)."""


class Tier(enum.Enum):
    """A resolution the history keeps. ``width_ms`` is a point's time span (0 = raw samples)."""

    RAW = "raw"
    MINUTE = "1m"
    QUARTER = "15m"

    @property
    def width_ms(self) -> int:
        """Bucket width in milliseconds; raw samples have no width."""
        return _WIDTH_MS[self]

    @property
    def table(self) -> str:
        """The SQLite table holding this tier."""
        return _TABLE[self]


_WIDTH_MS = {Tier.RAW: 0, Tier.MINUTE: 60_000, Tier.QUARTER: 900_000}
_TABLE = {Tier.RAW: "samples_raw", Tier.MINUTE: "samples_1m", Tier.QUARTER: "samples_15m"}


class Stat(enum.Enum):
    """Which aggregate of a downsampled point a query returns (raw points are all four)."""

    AVG = "avg"
    MIN = "min"
    MAX = "max"
    LAST = "last"


_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """A Prometheus label matcher: ``name op value`` with ``op`` one of ``= != =~ !~``.

    Regexes are fully anchored (``=~ "a|b"`` matches ``a`` or ``b``, not ``abc``), and a
    label the series does not have compares as the empty string, as in Prometheus.
    Raises ``ValueError`` for an unknown operator or a regex that does not compile.
    """

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(
                f"label matcher {self.name!r}: unknown operator {self.op!r} "
                f"(accepted: {', '.join(_OPS)})"
            )
        if self.op in ("=~", "!~"):
            try:
                rx = re.compile(self.value)
            except re.error as exc:
                raise ValueError(
                    f"label matcher {self.name}{self.op}{self.value!r}: bad regex: {exc}"
                ) from None
            object.__setattr__(self, "_regex", rx)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a series with these labels is selected."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit


def to_matchers(
    matchers: Sequence[LabelMatcher] | Mapping[str, str],
) -> tuple[LabelMatcher, ...]:
    """Normalise the two accepted forms; a mapping means equality on every key."""
    if isinstance(matchers, Mapping):
        return tuple(LabelMatcher(k, "=", v) for k, v in matchers.items())
    return tuple(matchers)


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One series' points over a query range: ``(unix seconds, value)`` sorted by time.

    A point from a downsampled tier is stamped with its bucket's start and stands for the
    whole bucket; NaN values (stored or from all-NaN buckets) come back as ``nan``.
    """

    name: str
    labels: Labels
    points: list[tuple[float, float]]


def canonical_labels(labels: Labels) -> Labels:
    """Labels sorted by name (``FlatSample`` puts ``le``/``quantile`` last, unsorted)."""
    return tuple(sorted(labels))


def labels_to_json(labels: Labels) -> str:
    """The canonical text form stored in ``series.labels``: compact JSON, keys sorted."""
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def labels_from_json(text: str) -> Labels:
    """Inverse of :func:`labels_to_json`."""
    data = json.loads(text)
    return tuple(sorted((str(k), str(v)) for k, v in data.items()))

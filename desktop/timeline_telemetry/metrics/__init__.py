"""The Metrics API, the metric catalog, and the immutable snapshot values exporters read."""

from __future__ import annotations

from .api import DEFAULT_BUCKETS, DEFAULT_QUANTILES, Metrics
from .catalog import DEFAULT_CATALOG
from .model import (
    FlatSample,
    HistogramValue,
    Labels,
    MetricFamily,
    MetricKind,
    MetricSpec,
    Series,
    Snapshot,
    SummaryValue,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_CATALOG",
    "DEFAULT_QUANTILES",
    "FlatSample",
    "HistogramValue",
    "Labels",
    "MetricFamily",
    "MetricKind",
    "MetricSpec",
    "Metrics",
    "Series",
    "Snapshot",
    "SummaryValue",
]

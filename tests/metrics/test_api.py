"""The Metrics API: the design document's calls, naming rules, type binding and thread-safety."""

from __future__ import annotations

import math
import threading

import pytest

from timeline_telemetry.metrics import (
    HistogramValue,
    MetricKind,
    Metrics,
    SummaryValue,
)
from timeline_telemetry.metrics.catalog import APPLICATION_METRICS, DEFAULT_CATALOG
from timeline_telemetry.metrics.disabled import DisabledMetrics


def value_of(m: Metrics, name: str, labels: dict[str, str] | None = None) -> object:
    fam = m.snapshot().family(name)
    assert fam is not None, f"{name} not in snapshot"
    want = tuple(sorted((labels or {}).items()))
    for s in fam.series:
        if s.labels == want:
            return s.value
    raise AssertionError(f"no series {want} in {name}: {[s.labels for s in fam.series]}")


def test_seed_quick_start_calls() -> None:
    m = Metrics()
    m.increment_counter("videos_processed_total", 1)
    m.set_gauge("memory_usage_bytes", 1234.0)
    m.record_histogram("frame_processing_duration_ms", 16.7)
    m.increment_counter_with_attributes(
        "api_requests_total",
        1,
        [("method", "POST"), ("endpoint", "/render"), ("status", "success")],
    )
    assert value_of(m, "videos_processed_total") == 1.0
    assert value_of(m, "memory_usage_bytes") == 1234.0
    assert (
        value_of(
            m, "api_requests_total", {"method": "POST", "endpoint": "/render", "status": "success"}
        )
        == 1.0
    )
    hist = value_of(m, "frame_processing_duration_ms")
    assert isinstance(hist, HistogramValue)
    assert hist.count == 1 and hist.sum == pytest.approx(16.7)


def test_attribute_order_does_not_split_series() -> None:
    m = Metrics()
    m.increment_counter("api_requests_total", 1, {"a": "1", "b": "2"})
    m.increment_counter("api_requests_total", 2, {"b": "2", "a": "1"})
    m.increment_counter_with_attributes("api_requests_total", 3, [("b", "2"), ("a", "1")])
    fam = m.snapshot().family("api_requests_total")
    assert fam is not None
    assert [(s.labels, s.value) for s in fam.series] == [((("a", "1"), ("b", "2")), 6.0)]


def test_non_string_attribute_values_become_label_strings() -> None:
    m = Metrics()
    m.set_gauge("queue_size", 3, {"worker": 7, "busy": True})
    assert value_of(m, "queue_size", {"worker": "7", "busy": "true"}) == 3.0


@pytest.mark.parametrize("name", ["9lives", "has-dash", "spaced name", "", "__reserved"])
def test_bad_metric_name_is_rejected_with_reason(name: str) -> None:
    m = Metrics()
    with pytest.raises(ValueError, match="metric name"):
        m.increment_counter(name)


def test_bad_label_name_is_rejected() -> None:
    m = Metrics()
    with pytest.raises(ValueError, match="attribute name 'bad-label'"):
        m.increment_counter("api_requests_total", 1, {"bad-label": "x"})


def test_reserved_le_label_on_histogram() -> None:
    m = Metrics()
    with pytest.raises(ValueError, match="'le' is reserved"):
        m.record_histogram("frame_processing_duration_ms", 1.0, {"le": "5"})


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan])
def test_negative_counter_increment_is_rejected(bad: float) -> None:
    m = Metrics()
    with pytest.raises(ValueError, match="can only increase"):
        m.increment_counter("frames_processed_total", bad)


def test_name_reused_with_another_type_says_which() -> None:
    m = Metrics()
    m.set_gauge("my_value", 1)
    with pytest.raises(ValueError, match="'my_value' is a gauge; it cannot be used as a counter"):
        m.increment_counter("my_value")


def test_catalog_type_wins_over_first_use() -> None:
    m = Metrics()
    with pytest.raises(ValueError, match="declared as a counter"):
        m.set_gauge("frames_processed_total", 3)


def test_exposed_name_collision_is_rejected() -> None:
    m = Metrics()
    m.increment_counter("jobs")  # exposed as jobs_total
    with pytest.raises(ValueError, match="jobs_total"):
        m.set_gauge("jobs_total", 1)


def test_application_metrics_carry_help_and_units() -> None:
    names = {s.name for s in APPLICATION_METRICS}
    assert names == {
        "video_processing_duration_ms",
        "frame_processing_duration_ms",
        "frames_processed_total",
        "videos_processed_total",
        "encoding_speed_fps",
        "api_requests_total",
        "api_request_duration_ms",
        "api_errors_total",
        "cache_hits_total",
        "cache_misses_total",
        "cache_evictions_total",
        "cache_size_bytes",
        "worker_pool_utilization",
        "tasks_executed_total",
        "tasks_failed_total",
        "queue_size",
    }
    for spec in APPLICATION_METRICS:
        assert spec.help
    m = Metrics()
    m.record_histogram("api_request_duration_ms", 12)
    fam = m.snapshot().family("api_request_duration_ms")
    assert fam is not None and fam.spec.unit == "ms" and fam.spec.help == "API request duration."


def test_unused_metrics_are_not_exposed() -> None:
    assert Metrics().snapshot().families == ()


def test_histogram_buckets_from_aggregation_config() -> None:
    buckets = [0.001, 0.01, 0.1, 1, 10, 100, 1000]
    m = Metrics(histogram_buckets=buckets)
    for v in (0.0005, 0.05, 5, 5000):
        m.record_histogram("frame_processing_duration_ms", v)
    h = value_of(m, "frame_processing_duration_ms")
    assert isinstance(h, HistogramValue)
    assert h.bounds == (*map(float, buckets), math.inf)
    assert h.cumulative_counts == (1, 1, 2, 2, 3, 3, 3, 4)
    samples = {(s.name, s.labels): s.value for s in m.flat_samples()}
    assert samples[("frame_processing_duration_ms_bucket", (("le", "+Inf"),))] == 4
    assert samples[("frame_processing_duration_ms_bucket", (("le", "0.1"),))] == 2
    assert samples[("frame_processing_duration_ms_count", ())] == 4


def test_value_on_bucket_bound_counts_in_that_bucket() -> None:
    m = Metrics(histogram_buckets=[1, 2])
    m.record_histogram("h_seconds", 1.0)
    h = value_of(m, "h_seconds")
    assert isinstance(h, HistogramValue) and h.cumulative_counts == (1, 1, 1)


def test_summary_quantiles_from_aggregation_config() -> None:
    m = Metrics(summary_quantiles=[0.5, 0.9])
    for v in range(1, 101):
        m.record_summary("render_seconds", float(v))
    s = value_of(m, "render_seconds")
    assert isinstance(s, SummaryValue)
    assert s.quantiles == ((0.5, 50.0), (0.9, 90.0))
    assert s.count == 100 and s.sum == 5050.0


def test_counter_without_total_suffix_is_exposed_with_it() -> None:
    m = Metrics()
    m.increment_counter("renders")
    assert [s.name for s in m.flat_samples()] == ["renders_total"]


def test_replace_series_drops_vanished_label_sets() -> None:
    m = Metrics()
    m.replace_series(
        "system_disk_usage_bytes",
        MetricKind.GAUGE,
        [((("mountpoint", "/"),), 1.0), ((("mountpoint", "/media"),), 2.0)],
    )
    m.replace_series("system_disk_usage_bytes", MetricKind.GAUGE, [((("mountpoint", "/"),), 3.0)])
    fam = m.snapshot().family("system_disk_usage_bytes")
    assert fam is not None and [(s.labels, s.value) for s in fam.series] == [
        ((("mountpoint", "/"),), 3.0)
    ]


def test_series_limit_drops_and_counts() -> None:
    m = Metrics(max_series_per_metric=3)
    for i in range(5):
        m.increment_counter("api_requests_total", 1, {"i": str(i)})
    fam = m.snapshot().family("api_requests_total")
    assert fam is not None and len(fam.series) == 3
    assert m.dropped_samples == 2


def test_concurrent_increments_are_not_lost() -> None:
    m = Metrics()
    attrs = {"method": "GET", "endpoint": "/x", "status": "ok"}
    n_threads, per_thread = 8, 5000
    barrier = threading.Barrier(n_threads)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            m.increment_counter("api_requests_total", 1, attrs)
            m.record_histogram("api_request_duration_ms", 3.0, attrs)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert value_of(m, "api_requests_total", attrs) == n_threads * per_thread
    h = value_of(m, "api_request_duration_ms", attrs)
    assert isinstance(h, HistogramValue) and h.count == n_threads * per_thread


def test_disabled_metrics_record_nothing() -> None:
    m = DisabledMetrics()
    m.increment_counter("videos_processed_total")
    m.set_gauge("x", 1)
    m.record_histogram("frame_processing_duration_ms", 1)
    assert m.snapshot().families == ()


def test_catalog_names_follow_prometheus_rules() -> None:
    from timeline_telemetry.metrics.naming import check_metric_name

    for name, spec in DEFAULT_CATALOG.items():
        assert check_metric_name(name) == name
        assert spec.help.endswith(".")


def test_a_scrape_reuses_the_latest_snapshot_until_something_is_written() -> None:
    """``current_snapshot`` is the last snapshot (the same object) while nothing was written
    since: each collection's snapshot serves the scrapes until the next write."""
    m = Metrics()
    m.set_gauge("system_cpu_usage_percent", 10.0)
    first = m.snapshot()
    assert m.current_snapshot() is first
    writes = [
        lambda: m.set_gauge("system_cpu_usage_percent", 20.0),
        lambda: m.increment_counter("api_requests_total", 1, {"route": "/a"}),
        lambda: m.increment_counter("api_requests_total", 1, {"route": "/a"}),  # hot path
        lambda: m.record_histogram("api_request_duration_ms", 3.0),
        lambda: m.set_counter_total("system_network_bytes_sent_total", 5.0),
        lambda: m.replace_series("system_cpu_usage_percent", MetricKind.GAUGE, [((), 30.0)]),
        lambda: m.remove_series("api_requests_total", {"route": "/a"}),
    ]
    latest = first
    for write in writes:
        write()
        fresh = m.current_snapshot()
        assert fresh is not latest
        assert m.current_snapshot() is fresh  # and reused again until the next write
        latest = fresh
    assert value_of(m, "system_cpu_usage_percent") == 30.0


def test_with_a_summary_no_snapshot_is_reused() -> None:
    """A summary's quantiles age out without any write: every scrape takes its own."""
    m = Metrics()
    m.record_summary("request_latency_ms", 5.0)
    first = m.snapshot()
    assert m.current_snapshot() is not first

"""The direct renderer writes exactly what prometheus-client writes for the same families."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from timeline_telemetry.export.exposition import ExpositionRenderer, format_value
from timeline_telemetry.export.prometheus import SnapshotCollector
from timeline_telemetry.metrics import DEFAULT_CATALOG, Metrics
from timeline_telemetry.metrics.model import (
    HistogramValue,
    MetricFamily,
    MetricKind,
    MetricSpec,
    Series,
    Snapshot,
    SummaryValue,
)

INF = math.inf


def tricky_snapshot() -> Snapshot:
    """Escaping, special values, labels either side of 'le', unsorted labels, every kind."""
    counter = MetricSpec("exports_started", MetricKind.COUNTER, 'Exports "started".\nPer job.')
    counter_total = DEFAULT_CATALOG["system_disk_read_bytes_total"]
    gauge = DEFAULT_CATALOG["system_swap_total_bytes"]
    weird = MetricSpec("odd_values", MetricKind.GAUGE, r"Back\slash help.")
    hist = MetricSpec("render_seconds", MetricKind.HISTOGRAM, "Render time.", "seconds")
    summ = MetricSpec("chunk_size_bytes", MetricKind.SUMMARY, "Chunk sizes.", "bytes")
    hv = HistogramValue((0.005, 0.5, 1.0, 2.5e7, INF), (1, 2, 2, 5, 6), 3.25, 6)
    return Snapshot(1_700_000_000.0, (
        MetricFamily(counter, (
            Series((), 2.0),
            Series((("job", 'C:\\media\\"final"\ncut'),), 1e21),
        )),
        MetricFamily(counter_total, (Series((), 123456789.0),)),
        MetricFamily(gauge, (Series((), 1234567.0),)),
        MetricFamily(weird, (
            Series((("v", "nan"),), math.nan),
            Series((("v", "inf"),), INF),
            Series((("v", "-inf"),), -INF),
            Series((("v", "tiny"),), 1e-7),
            Series((("v", "neg"),), -12345678.5),
            Series((("v", "ünï"),), 0.0),
        )),
        MetricFamily(hist, (
            Series((), hv),
            Series((("a", "1"), ("method", "GET"), ("zone", "z")), hv),
            Series((("zone", "z"), ("a", "1")), hv),  # not sorted: must still print sorted
        )),
        MetricFamily(summ, (
            Series((("disk", "d1"),), SummaryValue(((0.5, 10.0), (0.99, math.nan)), 30.0, 3)),
        )),
    ))


def client_registry(snap: Snapshot) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(lambda: snap))  # type: ignore[arg-type]
    return reg


@pytest.mark.parametrize("make", [tricky_snapshot, lambda: Metrics().snapshot()])
def test_classic_text_is_byte_identical_to_prometheus_client(make) -> None:  # type: ignore[no-untyped-def]
    snap = make()
    ours = ExpositionRenderer()
    expected = generate_latest(client_registry(snap))
    assert ours.render(snap) == expected
    assert ours.render(snap) == expected  # again, from the caches


def test_openmetrics_is_byte_identical_to_prometheus_client() -> None:
    snap = tricky_snapshot()
    ours = ExpositionRenderer().render(snap, openmetrics=True)
    assert ours == om_exposition.generate_latest(client_registry(snap))
    # and it is valid OpenMetrics (this parser is strict about EOF, UNIT and _total)
    fams = {f.name: f for f in om_parser.text_string_to_metric_families(ours.decode())}
    assert fams["exports_started"].type == "counter"
    assert fams["render_seconds"].unit == "seconds"


def test_parsed_back_types_names_and_values() -> None:
    text = ExpositionRenderer().render(tricky_snapshot()).decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    # Counters are exposed with _total whether or not their declared name has it.
    assert fams["exports_started"].type == "counter"
    assert [s.name for s in fams["exports_started"].samples] == ["exports_started_total"] * 2
    assert fams["exports_started"].documentation == 'Exports "started".\nPer job.'
    assert fams["exports_started"].samples[1].labels == {"job": 'C:\\media\\"final"\ncut'}
    assert fams["system_disk_read_bytes"].samples[0].value == 123456789.0
    # A gauge whose name looks like a counter's stays a gauge.
    assert fams["system_swap_total_bytes"].type == "gauge"
    assert fams["system_swap_total_bytes"].samples[0].value == 1234567.0
    assert fams["odd_values"].documentation == r"Back\slash help."
    odd = {s.labels["v"]: s.value for s in fams["odd_values"].samples}
    assert math.isnan(odd["nan"]) and odd["inf"] == INF and odd["-inf"] == -INF
    assert odd["neg"] == -12345678.5 and odd["ünï"] == 0.0
    hist = fams["render_seconds"]
    assert hist.type == "histogram"
    buckets = [(s.labels["le"], s.value) for s in hist.samples
               if s.name.endswith("_bucket") and s.labels.get("method") == "GET"]
    assert buckets == [("0.005", 1), ("0.5", 2), ("1.0", 2), ("2.5e+07", 5), ("+Inf", 6)]
    summ = fams["chunk_size_bytes"]
    assert {s.labels.get("quantile"): s.value for s in summ.samples if s.name == summ.name}[
        "0.5"] == 10.0
    assert "_created" not in text


def test_le_label_is_printed_in_sorted_position() -> None:
    text = ExpositionRenderer().render(tricky_snapshot()).decode()
    assert 'render_seconds_bucket{a="1",le="0.5",method="GET",zone="z"} 2.0' in text
    assert 'render_seconds_bucket{a="1",le="0.5",zone="z"} 2.0' in text


def test_format_value_matches_go_formatting() -> None:
    rng = random.Random(7)
    values = [0.0, -0.0, 1.0, 1e6, 999999.9, 1234567.0, 1e15, 1e16, 1e22, 2**53, 1e-5,
              123.456, -5e6, math.nan, INF, -INF]
    values += [rng.uniform(0, 1e12) for _ in range(500)] + [rng.random() for _ in range(100)]
    for v in values:
        assert format_value(v) == floatToGoString(v), v
    assert format_value(3) == "3.0"


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.slow
def test_scrape_of_10000_series_costs_under_half_of_generate_latest() -> None:
    reg = CollectorRegistry()
    native = Gauge("bench_value", "bench_value (recorded by the application).",
                   ["host", "disk", "mode"], registry=reg)
    ours = Metrics(max_series_per_metric=20_000)
    rng = random.Random(1)
    for i in range(10_000):
        labels = {"host": f"h{i % 10}", "disk": f"d{i}", "mode": "rw"}
        v = rng.uniform(0, 1e7)
        native.labels(**labels).set(v)
        ours.set_gauge("bench_value", v, labels)
    renderer = ExpositionRenderer()
    assert renderer.render(ours.snapshot()) == generate_latest(reg)
    theirs = best_of(5, lambda: generate_latest(reg))
    mine = best_of(5, lambda: renderer.render(ours.snapshot()))  # snapshot included
    assert mine <= 0.5 * theirs, f"ours {mine * 1e3:.1f} ms vs {theirs * 1e3:.1f} ms"


def test_an_unchanged_histogram_is_reused_and_a_changed_one_rendered_anew() -> None:
    """A histogram that was not written to since the last read is handed out as the same
    series, and its samples and lines are reused; an observation makes a new one, which
    the history's samples and the exposition both show."""
    m = Metrics()
    m.record_histogram("health_check_duration_seconds", 0.02, {"check": "disk"})
    m.set_gauge("system_memory_usage_bytes", 1.0)
    renderer = ExpositionRenderer()

    def both(snap: Snapshot) -> tuple[bytes, dict[str, float]]:
        flat = {f"{s.name}{dict(s.labels)}": s.value for s in snap.flat_samples()}
        return renderer.render(snap), flat

    first = m.snapshot()
    body1, flat1 = both(first)
    m.set_gauge("system_memory_usage_bytes", 2.0)
    second = m.snapshot()
    hist = [f for f in second.families if f.spec.name == "health_check_duration_seconds"]
    assert hist[0].series[0] is next(
        f for f in first.families if f.spec.name == "health_check_duration_seconds").series[0]
    body2, flat2 = both(second)
    assert body2 == body1.replace(b"system_memory_usage_bytes 1.0",
                                  b"system_memory_usage_bytes 2.0")
    assert flat2 == {**flat1, "system_memory_usage_bytes{}": 2.0}
    m.record_histogram("health_check_duration_seconds", 3.0, {"check": "disk"})
    body3, flat3 = both(m.snapshot())
    assert b'health_check_duration_seconds_count{check="disk"} 2.0' in body3
    assert b'health_check_duration_seconds_bucket{check="disk",le="2.5"} 1.0' in body3
    assert b'health_check_duration_seconds_bucket{check="disk",le="5.0"} 2.0' in body3
    assert flat3["health_check_duration_seconds_count{'check': 'disk'}"] == 2.0
    assert flat3["health_check_duration_seconds_bucket{'check': 'disk', 'le': '5.0'}"] == 2
    assert flat3["health_check_duration_seconds_sum{'check': 'disk'}"] == pytest.approx(3.02)
    snap = m.snapshot()  # the reference renderer agrees on the changed histogram
    assert renderer.render(snap) == generate_latest(client_registry(snap))

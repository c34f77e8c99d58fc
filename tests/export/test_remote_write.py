"""RemoteWrite exporter, fine-grained: config, the wire format (decoded with protobuf classes
built from prompb's schema), headers, retry/backoff, Retry-After, the durable cursor.

A local HTTP server on 127.0.0.1 plays the receiver and answers what each test scripts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cramjam
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from support import wait_for
from timeline_telemetry.config import ConfigError
from timeline_telemetry.config.loader import parse_config
from timeline_telemetry.config.render import config_to_json
from timeline_telemetry.config.schema import RemoteWriteExporterConfig
from timeline_telemetry.export.base import ExportState
from timeline_telemetry.history import HistoryStore
from timeline_telemetry.metrics import Metrics
from timeline_telemetry.metrics.model import FlatSample
from timeline_telemetry.remote_write import RemoteWriteExporter
from timeline_telemetry.remote_write.source import CursorFile, MemorySource


# -- prompb, from its schema ----------------------------------------------------------------
def _write_request_class() -> Any:
    f = descriptor_pb2.FileDescriptorProto(name="prompb_test.proto", package="prometheus",
                                           syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto
    rep, opt = T.LABEL_REPEATED, T.LABEL_OPTIONAL

    def msg(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = f.message_type.add(name=name)
        for fname, num, label, ftype, tname in fields:
            fd = m.field.add(name=fname, number=num, label=label, type=ftype)
            if tname:
                fd.type_name = tname

    msg("Label", ("name", 1, opt, T.TYPE_STRING, ""), ("value", 2, opt, T.TYPE_STRING, ""))
    msg("Sample", ("value", 1, opt, T.TYPE_DOUBLE, ""), ("timestamp", 2, opt, T.TYPE_INT64, ""))
    msg("TimeSeries", ("labels", 1, rep, T.TYPE_MESSAGE, ".prometheus.Label"),
        ("samples", 2, rep, T.TYPE_MESSAGE, ".prometheus.Sample"))
    msg("WriteRequest", ("timeseries", 1, rep, T.TYPE_MESSAGE, ".prometheus.TimeSeries"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus.WriteRequest"))


WriteRequest = _write_request_class()


# -- a scripted receiver --------------------------------------------------------------------
class _Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[tuple[int, dict[str, str], bytes]] = []  # answers, then 204
        self.times: list[float] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with owner.lock:
                    owner.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                           body))
                    owner.times.append(time.monotonic())
                    status, heads, text = owner.script.pop(0) if owner.script else (204, {}, b"")
                self.send_response(status)
                for k, v in heads.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def decoded(self, i: int) -> Any:
        msg = WriteRequest()
        msg.ParseFromString(bytes(cramjam.snappy.decompress_raw(self.requests[i][1])))
        return msg

    def samples(self) -> list[tuple[dict[str, str], int, float]]:
        out = []
        for i in range(len(self.requests)):
            for ts in self.decoded(i).timeseries:
                labels = {lb.name: lb.value for lb in ts.labels}
                out += [(labels, s.timestamp, s.value) for s in ts.samples]
        return out


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    rec = _Receiver()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def _config(url: str, **extra: object) -> RemoteWriteExporterConfig:
    body = {"url": url, "queue": {"min_backoff": "50ms", "max_backoff": "200ms"}, **extra}
    cfg = parse_config({"telemetry": {"metrics": {"exporters": [{"RemoteWrite": body}]}}},
                       source="test", base_dir=Path("/"))
    ecfg = cfg.metrics.exporters[0]
    assert isinstance(ecfg, RemoteWriteExporterConfig)
    return ecfg


def _exporter(tmp_path: Path, cfg: RemoteWriteExporterConfig, *,
              rows: list[tuple[float, list[FlatSample]]] = (),  # type: ignore[assignment]
              environ: dict[str, str] | None = None, clock: Any = time.time,
              metrics: Metrics | None = None) -> RemoteWriteExporter:
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db, retention=3600) as store:
        for ts, samples in rows:
            store.append(ts, samples)
        store.flush()
    exp = RemoteWriteExporter(cfg, history_path=db, cursor_file=tmp_path / "cursor.json",
                              job="timeline-studio", instance="edit-07",
                              environ=environ or {}, clock=clock, metrics=metrics)
    exp.start()
    return exp


def _flat(name: str, value: float, **labels: str) -> FlatSample:
    return FlatSample(name, tuple(labels.items()), value)


# -- config ---------------------------------------------------------------------------------
def test_config_parses_with_defaults_and_round_trips() -> None:
    cfg = parse_config({"telemetry": {"metrics": {"exporters": [{"RemoteWrite": {
        "url": "https://mimir.studio.lan/api/v1/push",
        "headers": {"X-Scope-OrgID": "studio"},
        "basic_auth": {"username": "edit", "password": "keyring:mimir"},
        "external_labels": {"site": "paris"}, "timeout": "5s",
        "queue": {"max_samples_per_send": 500}, "max_age": "6h"}}]}}},
        source="t", base_dir=Path("/"))
    e = cfg.metrics.exporters[0]
    assert isinstance(e, RemoteWriteExporterConfig)
    assert (e.timeout, e.max_age, e.queue.max_samples_per_send) == (5.0, 6 * 3600.0, 500)
    assert e.queue.max_backoff == 30.0 and e.basic_auth is not None
    assert e.basic_auth.password == "keyring:mimir" and dict(e.external_labels) == {"site": "paris"}
    shown = config_to_json(cfg, mask_secrets=True)
    text = json.dumps(shown)
    assert "keyring:mimir" in text  # a reference, shown as is
    again = parse_config(config_to_json(cfg, mask_secrets=False), source="t", base_dir=Path("/"))
    assert again == cfg


@pytest.mark.parametrize(("body", "where", "says"), [
    ({}, "RemoteWrite.url", "missing"),
    ({"url": "ftp://x"}, "RemoteWrite.url", "http:// or https://"),
    ({"url": "http://u:pw@x/api/v1/write"}, "RemoteWrite.url", "basic_auth"),
    ({"url": "http://x", "basic_auth": {"username": "u", "password": "hunter2"}},
     "basic_auth.password", "secret reference"),
    ({"url": "http://x", "external_labels": {"0bad": "v"}}, "external_labels.0bad",
     "label name"),
    ({"url": "http://x", "headers": {"Content-Encoding": "gzip"}}, "headers.Content-Encoding",
     "protocol"),
    ({"url": "http://x", "queue": {"max_samples_per_send": 0}},
     "queue.max_samples_per_send", "out of range"),
    ({"url": "http://x", "max_age": "forever"}, "RemoteWrite.max_age", ""),
    ({"url": "http://x", "colour": 1}, "RemoteWrite.colour", "unknown key"),
])
def test_config_errors_name_the_key(body: dict[str, object], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"telemetry": {"metrics": {"exporters": [{"RemoteWrite": body}]}}},
                     source="t", base_dir=Path("/"))
    text = str(err.value)
    assert where in text and says in text, text
    assert "hunter2" not in text


def test_remote_write_is_refused_among_trace_exporters() -> None:
    with pytest.raises(ConfigError, match=r"put it in telemetry\.metrics\.exporters"):
        parse_config({"telemetry": {"tracing": {"exporters": [
            {"RemoteWrite": {"url": "http://x"}}]}}}, source="t", base_dir=Path("/"))


# -- the wire ---------------------------------------------------------------------------------
def test_sends_a_snappy_protobuf_write_request_with_the_protocol_headers(
    tmp_path: Path, receiver: _Receiver
) -> None:
    t0 = time.time() - 5
    rows = [(t0, [_flat("system_cpu_usage_percent", 12.5),
                  _flat("gpu_utilization_percent", 40.0, gpu="0", job="render", instance="x")]),
            (t0 + 1, [_flat("system_cpu_usage_percent", 13.5)])]
    exp = _exporter(tmp_path, _config(receiver.url, headers={"X-Scope-OrgID": "env:RW_ORG"},
                                      external_labels={"site": "paris", "gpu": "ignored"}),
                    rows=rows, environ={"RW_ORG": "studio-a"})
    try:
        wait_for(lambda: exp.sent_samples == 3, timeout=10, what="3 samples sent")
    finally:
        exp.shutdown()
    heads = receiver.requests[0][0]
    assert heads["content-encoding"] == "snappy"
    assert heads["content-type"] == "application/x-protobuf"
    assert heads["x-prometheus-remote-write-version"] == "0.1.0"
    assert heads["user-agent"].startswith("timeline-telemetry/")
    assert heads["x-scope-orgid"] == "studio-a"
    got = receiver.samples()
    cpu = [(ts, v) for lb, ts, v in got if lb["__name__"] == "system_cpu_usage_percent"]
    assert cpu == [(round(t0 * 1000), 12.5), (round((t0 + 1) * 1000), 13.5)]
    gpu = next(lb for lb, _ts, _v in got if lb["__name__"] == "gpu_utilization_percent")
    # job/instance are the agent's; the series' own are kept as exported_*; a series label
    # wins over an external label of the same name.
    assert gpu == {"__name__": "gpu_utilization_percent", "gpu": "0", "job": "timeline-studio",
                   "instance": "edit-07", "exported_job": "render", "exported_instance": "x",
                   "site": "paris"}
    for ts in receiver.decoded(0).timeseries:
        names = [lb.name for lb in ts.labels]
        assert names == sorted(names)  # the protocol requires sorted label names


def test_external_labels_override_job_and_instance(tmp_path: Path, receiver: _Receiver) -> None:
    exp = _exporter(tmp_path, _config(receiver.url, external_labels={
        "job": "studio", "instance": "suite-3"}), rows=[(time.time(), [_flat("up_a", 1.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="the sample")
    finally:
        exp.shutdown()
    labels = receiver.samples()[0][0]
    assert (labels["job"], labels["instance"]) == ("studio", "suite-3")


def test_basic_auth_from_an_env_ref_and_never_in_the_status(
    tmp_path: Path, receiver: _Receiver
) -> None:
    receiver.script = [(401, {}, b"unauthorized: wrong credentials for s3cret-user")]
    exp = _exporter(tmp_path, _config(receiver.url, basic_auth={
        "username": "edit", "password": "env:RW_PW"}), rows=[(time.time(), [_flat("a", 1.0)])],
        environ={"RW_PW": "pa55-word"})
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="delivery after the 401")
    finally:
        exp.shutdown()
    import base64

    assert receiver.requests[0][0]["authorization"] == "Basic " + base64.b64encode(
        b"edit:pa55-word").decode()
    assert len(receiver.requests) == 2  # the 401 held the batch; it was sent again


def test_a_missing_secret_is_the_exporters_error(tmp_path: Path, receiver: _Receiver) -> None:
    exp = _exporter(tmp_path, _config(receiver.url, basic_auth={
        "username": "edit", "password": "env:RW_UNSET"}), rows=[(time.time(), [_flat("a", 1.0)])])
    try:
        wait_for(lambda: exp.status().state is ExportState.FAILED, timeout=10,
                 what="the secret error")
        st = exp.status()
    finally:
        exp.shutdown()
    assert "env:RW_UNSET" in st.detail and not receiver.requests


# -- retry ------------------------------------------------------------------------------------
def test_5xx_and_429_are_retried_honouring_retry_after(
    tmp_path: Path, receiver: _Receiver
) -> None:
    receiver.script = [(503, {}, b"busy"), (429, {"Retry-After": "1"}, b"slow down")]
    exp = _exporter(tmp_path, _config(receiver.url), rows=[(time.time(), [_flat("a", 1.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=15, what="delivery after retries")
    finally:
        exp.shutdown()
    assert len(receiver.requests) == 3 and exp.dropped_samples == 0
    # The 429's Retry-After (1 s) was waited, not the 200 ms max_backoff.
    assert receiver.times[2] - receiver.times[1] >= 0.95
    assert len({body for _h, body in receiver.requests}) == 1  # the same batch each time


def test_retry_after_is_bounded_by_max_retry_after(tmp_path: Path, receiver: _Receiver) -> None:
    receiver.script = [(429, {"Retry-After": "3600"}, b"")]
    cfg = _config(receiver.url, queue={"min_backoff": "50ms", "max_backoff": "100ms",
                                       "max_retry_after": "300ms"})
    exp = _exporter(tmp_path, cfg, rows=[(time.time(), [_flat("a", 1.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="delivery despite 3600 s")
    finally:
        exp.shutdown()


def test_other_4xx_drops_with_a_bounded_message(tmp_path: Path, receiver: _Receiver) -> None:
    receiver.script = [(400, {}, b"out of bounds \x00" + b"x" * 5000)]
    t0 = time.time() - 5
    cfg = _config(receiver.url, queue={"max_samples_per_send": 1, "min_backoff": "50ms",
                                       "max_backoff": "100ms"})
    exp = _exporter(tmp_path, cfg, rows=[(t0, [_flat("a", 1.0)]), (t0 + 1, [_flat("a", 2.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="the second sample")
    finally:
        exp.shutdown()
    assert exp.dropped_samples == 1 and len(receiver.requests) == 2
    assert exp.last_drop.startswith("http://127.0.0.1:") and "HTTP 400" in exp.last_drop
    assert "out of bounds" in exp.last_drop and len(exp.last_drop) < 400
    assert "\x00" not in exp.last_drop


# -- the cursor -------------------------------------------------------------------------------
def test_resumes_from_the_saved_cursor_after_a_restart(
    tmp_path: Path, receiver: _Receiver
) -> None:
    t0 = time.time() - 10
    exp = _exporter(tmp_path, _config(receiver.url), rows=[(t0, [_flat("a", 1.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="the first sample")
    finally:
        exp.shutdown()
    saved = CursorFile(tmp_path / "cursor.json", "").load()
    assert saved is not None and saved[0] == round(t0 * 1000)
    # Stopped; meanwhile two more collections; started again: only those two are sent.
    exp = _exporter(tmp_path, _config(receiver.url),
                    rows=[(t0 + 1, [_flat("a", 2.0)]), (t0 + 2, [_flat("a", 3.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 2, timeout=10, what="the gap")
    finally:
        exp.shutdown()
    assert [v for _lb, _ts, v in receiver.samples()] == [1.0, 2.0, 3.0]


def test_the_gap_is_sent_oldest_first_paced_and_only_within_max_age(
    tmp_path: Path, receiver: _Receiver
) -> None:
    now = time.time()
    rows = [(now - 600 + i, [_flat("a", float(i))]) for i in range(600)]
    cfg = _config(receiver.url, max_age="5m", queue={
        "max_samples_per_send": 100, "max_samples_per_second": 500,
        "min_backoff": "50ms", "max_backoff": "100ms"})
    metrics = Metrics()
    exp = _exporter(tmp_path, cfg, rows=rows, metrics=metrics)
    try:
        wait_for(lambda: exp.behind_s() == 0 and exp.sent_samples >= 290, timeout=20,
                 what="caught up")
    finally:
        exp.shutdown()
    assert metrics.current_values("telemetry_remote_write_behind_seconds") == [0.0]
    assert metrics.current_values("telemetry_remote_write_samples_sent_total") == [
        float(exp.sent_samples)]
    assert metrics.current_values("telemetry_remote_write_sent_bytes_total")[0] > 0
    stamps = [ts for _lb, ts, _v in receiver.samples()]
    assert stamps == sorted(stamps)
    assert min(stamps) >= (now - 300) * 1000 - 1000  # nothing older than max_age
    assert len(receiver.requests) >= 3
    # Paced: 300 samples at 500/s cannot all have gone in under ~0.4 s.
    assert receiver.times[-1] - receiver.times[0] >= 0.35


def test_a_corrupt_cursor_file_starts_anew(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    assert CursorFile(path, "u").load() is None
    CursorFile(path, "u").save((5, 7))
    assert CursorFile(path, "u").load() == (5, 7)
    assert not path.with_name("c.json.tmp").exists()


def test_without_history_a_bounded_memory_buffer_is_sent(receiver: _Receiver,
                                                         tmp_path: Path) -> None:
    exp = RemoteWriteExporter(_config(receiver.url), history_path=None,
                              cursor_file=tmp_path / "c.json", job="j", instance="i",
                              environ={})
    exp.start()
    try:
        m = Metrics()
        m.set_gauge("queue_size", 3.0)
        exp.export(m.snapshot())
        wait_for(lambda: exp.sent_samples >= 1, timeout=10, what="the snapshot sent")
    finally:
        exp.shutdown()
    assert any(lb["__name__"] == "queue_size" and v == 3.0 for lb, _t, v in receiver.samples())
    src = MemorySource(max_samples=3)
    src.add(1.0, [_flat("a", 1.0), _flat("b", 2.0)])
    src.add(2.0, [_flat("a", 1.0), _flat("b", 2.0)])
    assert src.dropped == 1 and len(src.read((0, 0), 10).rows) == 3
    assert exp.status().state is ExportState.DEGRADED  # stopped


def test_a_gap_older_than_the_raw_tier_is_sent_at_one_minute_resolution(
    tmp_path: Path, receiver: _Receiver
) -> None:
    """Offline for 3 h: the raw samples of the first 2 h were rolled up into 1-minute buckets
    and pruned; those minutes are sent (oldest first), then the raw hour."""
    now = time.time()
    t = [now - 3 * 3600]
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db, retention=24 * 3600, clock=lambda: t[0]) as store:
        while t[0] < now:
            store.append(t[0], [_flat("a", t[0] % 1000)])
            store.flush()
            t[0] += 20
        t[0] = now
        for _ in range(50):
            store.maintain(force=True)
    exp = RemoteWriteExporter(_config(receiver.url, queue={"max_samples_per_send": 500,
                                                           "max_samples_per_second": 100000}),
                              history_path=db, cursor_file=tmp_path / "c.json", job="j",
                              instance="i", environ={})
    exp.start()
    try:
        wait_for(lambda: exp.behind_s() == 0 and exp.sent_samples > 0, timeout=20,
                 what="caught up")
    finally:
        exp.shutdown()
    stamps = [ts for _lb, ts, _v in receiver.samples()]
    assert stamps == sorted(stamps) and len(stamps) == len(set(stamps))
    assert min(stamps) <= (now - 2.9 * 3600) * 1000  # the early part was sent...
    early = [s for s in stamps if s < (now - 3600) * 1000 - 120_000]
    assert early and all(s % 60_000 == 0 for s in early)  # ...as minutes
    late = [s for s in stamps if s > (now - 3000) * 1000]
    assert len(late) >= 140  # the last ~hour at the raw 20 s rhythm


def test_a_cursor_from_a_clock_that_was_ahead_is_not_waited_for(
    tmp_path: Path, receiver: _Receiver
) -> None:
    CursorFile(tmp_path / "cursor.json", "").save((round((time.time() + 86400) * 1000), 1))
    exp = _exporter(tmp_path, _config(receiver.url), rows=[(time.time() - 5, [_flat("a", 1.0)])])
    try:
        wait_for(lambda: exp.sent_samples == 1, timeout=10, what="the sample")
    finally:
        exp.shutdown()


def test_diagnose_probes_the_remote_write_receiver_without_credentials() -> None:
    from timeline_telemetry.runtime.diagnose import upstream_targets

    cfg = parse_config({"telemetry": {"metrics": {"exporters": [{"RemoteWrite": {
        "url": "https://mimir.example.invalid/api/v1/push?tenant=s3cret"}}]}}},
        source="t", base_dir=Path("/"))
    targets, _notes = upstream_targets(cfg)
    assert [(t.kind, t.shown, t.port, t.tls) for t in targets] == [
        ("RemoteWrite", "https://mimir.example.invalid/api/v1/push", 443, True)]

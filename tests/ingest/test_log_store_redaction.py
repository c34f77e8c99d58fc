"""The receiver's stored log records carry no secrets: bodies and attribute values (nested
ones too) are masked as they are stored, with the bundle's redaction; ordinary records are
kept byte for byte."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

import secret_samples as tokens
from timeline_telemetry.ingest import LogStore


def request(bodies: list[str], attrs: dict[str, AnyValue] | None = None) -> (
        ExportLogsServiceRequest):
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    kv = rl.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "timeline-studio"
    sl = rl.scope_logs.add()
    for i, body in enumerate(bodies):
        rec = sl.log_records.add(time_unix_nano=1_700_000_000_000_000_000 + i,
                                 severity_number=9)
        rec.body.string_value = body
        for key, value in (attrs or {}).items():
            a = rec.attributes.add()
            a.key = key
            a.value.CopyFrom(value)
    return req


def text(s: str) -> AnyValue:
    return AnyValue(string_value=s)


def test_every_secret_kind_is_masked_in_stored_bodies() -> None:
    store = LogStore(max_records=100)
    messages = tokens.secret_messages()
    assert store.add_request(request([*messages, *tokens.INNOCENT])) == \
        len(messages) + len(tokens.INNOCENT)
    logs = store.recent(limit=100)
    shown = "\n".join(log.body for log in logs)
    for secret in tokens.ALL:
        assert secret not in shown, secret
    assert [log.body for log in logs[len(messages):]] == list(tokens.INNOCENT)
    assert store.redacted == len(messages)
    assert "***" in logs[0].body and logs[0].body.startswith("aws: using access key AKIA")


def test_attributes_are_masked_by_key_and_by_content_at_any_depth() -> None:
    nested = AnyValue()
    for key, value in (("authorization", "Basic QWxhZGRpbjpPcGVuU2VzYW1l"),
                       ("user", "ed")):
        kv = nested.kvlist_value.values.add()
        kv.key, kv.value.string_value = key, value
    listed = AnyValue()
    listed.array_value.values.add().string_value = "https://ed:UrlPw-Secret-9@nas.local/share"
    listed.array_value.values.add().string_value = "plain"
    attrs = {
        "password": text("AttrPw-Secret-1"),
        "api_key": AnyValue(bytes_value=b"\x01\x02"),
        "gen_ai.usage.input_tokens": AnyValue(int_value=1200),  # a count, not a secret
        "http.request.header": nested,
        "mounts": listed,
        "note": text(f"uploaded with {tokens.SLACK}"),
        "project.id": text("123e4567-e89b-12d3-a456-426614174000"),
        "trace.parent": text("0af7651916cd43dd8448eb211c80319c"),
        "file.path": text("/srv/media/projects/summer/render-0001.mp4"),
        "frames": AnyValue(int_value=3600),
    }
    store = LogStore()
    req = request(["render done"], attrs)
    store.add_request(req)
    (log,) = store.recent()
    shown = dict(log.attributes)
    assert shown == {
        "password": "***",
        "api_key": "***",
        "gen_ai.usage.input_tokens": "1200",
        "http.request.header": "{authorization:***,user:ed}",
        "mounts": "[https://***@nas.local/share,plain]",
        "note": "uploaded with xoxb-***",
        "project.id": "123e4567-e89b-12d3-a456-426614174000",
        "trace.parent": "0af7651916cd43dd8448eb211c80319c",
        "file.path": "/srv/media/projects/summer/render-0001.mp4",
        "frames": "3600",
    }
    assert log.body == "render done"
    # masked in place: the logs file the receiver writes next holds no secret either
    assert b"AttrPw-Secret-1" not in req.SerializeToString()
    assert b"UrlPw-Secret-9" not in req.SerializeToString()


def test_contains_filter_sees_the_stored_masked_body() -> None:
    store = LogStore()
    store.add_request(request(["login password=Pw-Secret-77 failed"]))
    assert store.recent(contains="Pw-Secret-77") == []
    assert [log.body for log in store.recent(contains="failed")] == \
        ["login password=*** failed"]

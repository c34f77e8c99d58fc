"""The Console trace exporter masks what the editor put in span attributes (the campaign saw
``authorization``, ``api_key``, a URL password and a ``?token=`` printed in clear), with the
same redaction as the diagnostics bundle, and leaves ordinary attributes alone."""

from __future__ import annotations

import io
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import secret_samples as tokens
from timeline_telemetry.tracing import ConsoleSender
from timeline_telemetry.tracing.batch import OtlpBatch

URL_PASSWORD = "UrlPw-Secret-42"
QUERY_TOKEN = "QueryTok-Secret-43"
AUTH = "Bearer AuthSecret-44"
API_KEY = "ApiKeySecret-45"


def span_request(attr_sets: list[list[tuple[str, str | int]]]) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "timeline-studio"
    ss = rs.scope_spans.add()
    for i, attrs in enumerate(attr_sets):
        span = ss.spans.add(name=f"upload{i}", trace_id=bytes.fromhex(
            "0af7651916cd43dd8448eb211c80319c"), span_id=(i + 1).to_bytes(8, "big"),
            start_time_unix_nano=1_700_000_000_000_000_000,
            end_time_unix_nano=1_700_000_000_500_000_000)
        for key, value in attrs:
            a = span.attributes.add()
            a.key = key
            if isinstance(value, int):
                a.value.int_value = value
            else:
                a.value.string_value = value
    return req


def printed(req: ExportTraceServiceRequest) -> str:
    stream = io.StringIO()
    sender = ConsoleSender(stream=stream, localtime=time.gmtime)
    sender.deliver(OtlpBatch(req, 1), timeout_s=1)
    return stream.getvalue()


def test_secret_attributes_are_masked_on_the_console() -> None:
    out = printed(span_request([[
        ("authorization", AUTH),
        ("api_key", API_KEY),
        ("http.url", f"https://ed:{URL_PASSWORD}@media.example/upload?token={QUERY_TOKEN}&n=1"),
        ("frames", "3600"),
        ("gen_ai.usage.input_tokens", 1200),
        ("project.id", "123e4567-e89b-12d3-a456-426614174000"),
        ("file.path", "/srv/media/projects/summer/render-0001.mp4"),
    ]]))
    for secret in (URL_PASSWORD, QUERY_TOKEN, "AuthSecret-44", API_KEY):
        assert secret not in out
    line = out.splitlines()[0]
    assert line == (
        "22:13:20.000 span upload0 500.0ms trace=0af76519 id=00000000 ok "
        "service=timeline-studio authorization=*** api_key=*** "
        "http.url=https://***@media.example/upload?token=***&n=1 frames=3600 "
        "gen_ai.usage.input_tokens=1200 "
        "project.id=123e4567-e89b-12d3-a456-426614174000 "
        "file.path=/srv/media/projects/summer/render-0001.mp4")


def test_every_token_kind_is_masked_in_attribute_values() -> None:
    # one attribute a span (the console shows the first 8 of a span)
    out = printed(span_request([[("message", m)] for m in tokens.secret_messages()]
                               + [[("message", text)] for text in tokens.INNOCENT]))
    for secret in tokens.ALL:
        assert secret not in out, secret
    for text in tokens.INNOCENT:
        assert f"message={text}" in out

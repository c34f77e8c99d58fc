"""HttpHealthCheck against a real server on 127.0.0.1: answers, fails, hangs."""

from __future__ import annotations

import time

import pytest
from health_helpers import LocalServer, wait_until

from timeline_telemetry.health import (
    FunctionHealthCheck,
    HealthCheckManager,
    HealthCheckResult,
    HealthStatus,
    HttpHealthCheck,
)
from timeline_telemetry.net.urls import redact_url


def test_answers_200(http_server: LocalServer) -> None:
    check = HttpHealthCheck(http_server.url, latency_warning=5.0)
    r = check.check()
    assert r.status is HealthStatus.HEALTHY, r.message
    assert r.metadata["status_code"] == 200
    assert check.name == f"http:127.0.0.1:{http_server.url.split(':')[2].split('/')[0]}"
    assert http_server.requests == 1


def test_unexpected_status_is_unhealthy(http_server: LocalServer) -> None:
    http_server.mode = "status:503"
    r = HttpHealthCheck(http_server.url).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert r.message.endswith("answered HTTP 503 (expected 200)")


def test_expected_status_other_than_200(http_server: LocalServer) -> None:
    http_server.mode = "status:204"
    assert HttpHealthCheck(http_server.url, expected_status=204).check().status is (
        HealthStatus.HEALTHY)


def test_slow_answer_is_a_warning(http_server: LocalServer) -> None:
    r = HttpHealthCheck(http_server.url, latency_warning=0.0).check()  # any latency is "slow"
    assert r.status is HealthStatus.WARNING
    assert "is slow: HTTP 200" in r.message


def test_connection_refused(closed_port_url: str) -> None:
    r = HttpHealthCheck(closed_port_url).check()
    assert r.status is HealthStatus.UNHEALTHY
    assert "refused" in r.message.lower()


def test_credentials_and_query_never_show(closed_port_url: str) -> None:
    url = closed_port_url.replace("http://", "http://user:s3cret@") + "?token=abc"
    check = HttpHealthCheck(url)
    r = check.check()
    assert "s3cret" not in r.message and "abc" not in r.message and "user" not in r.message
    assert "s3cret" not in check.name
    assert redact_url("https://u:p@[::1]:8443/a/b?x=1#f") == "https://[::1]:8443/a/b"


def test_hang_times_out_while_other_checks_finish_on_time(http_server: LocalServer) -> None:
    manager = HealthCheckManager(default_timeout=1.0, parallel_checks=True)
    try:
        manager.add_check(HttpHealthCheck(http_server.url, name="api"))
        for i in range(3):
            manager.add_check(FunctionHealthCheck(
                f"local{i}", lambda: HealthCheckResult.healthy("fine")))
        first = manager.check_all()
        assert first.results["api"].status is HealthStatus.HEALTHY

        http_server.mode = "hang"
        started = time.time()
        report = manager.check_all(force=True)
        elapsed = time.time() - started
        api = report.results["api"]
        assert api.status is HealthStatus.UNHEALTHY
        assert api.message == "timed out after 1s"
        assert 1.0 <= api.check_duration < 4.0
        assert elapsed < 4.0
        for i in range(3):
            local = report.results[f"local{i}"]
            assert local.status is HealthStatus.HEALTHY
            assert local.timestamp - started < 0.9  # not held up by the hung request

        # the request's socket gives up just after the manager did, freeing the worker
        http_server.mode = "ok"
        assert wait_until(lambda: manager.check_all(force=True).results["api"].status
                          is HealthStatus.HEALTHY), "the HTTP check never recovered"
    finally:
        http_server.release.set()
        manager.stop(timeout_s=2)


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://", "localhost:80"])
def test_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        HttpHealthCheck(url)

"""/health, /health/live and /health/ready on a real LocalHttpServer, fetched with urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from timeline_telemetry.health import (
    FunctionHealthCheck,
    HealthCheckManager,
    HealthCheckResult,
    HealthStatus,
    health_routes,
)
from timeline_telemetry.net.http_server import LocalHttpServer


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()


class Settable:
    def __init__(self, name: str) -> None:
        self.name = name
        self.kind = "memory"
        self.status = HealthStatus.HEALTHY

    def check(self) -> HealthCheckResult:
        return HealthCheckResult(self.status, f"{self.name}: {self.status.label}", metadata={
            "used_fraction": 0.5})


@pytest.fixture
def served() -> Iterator[tuple[HealthCheckManager, LocalHttpServer, Settable]]:
    manager = HealthCheckManager(cache_ttl=0)
    mem = Settable("memory")
    manager.add_check(mem)
    manager.add_check(FunctionHealthCheck("ok", lambda: HealthCheckResult.healthy("fine")))
    server = LocalHttpServer("127.0.0.1", 0)
    for path, handler in health_routes(manager).items():
        server.add_route(path, handler)
    server.start()
    try:
        yield manager, server, mem
    finally:
        server.shutdown()
        manager.stop()


def test_health_json_and_status_codes(
    served: tuple[HealthCheckManager, LocalHttpServer, Settable],
) -> None:
    _, server, mem = served
    code, ctype, body = get(server.url("/health"))
    assert code == 200 and ctype.startswith("application/json")
    data = json.loads(body)
    assert data["status"] == "Healthy" and data["status_code"] == 1
    check = data["checks"]["memory"]
    assert check["status"] == "Healthy" and check["message"] == "memory: Healthy"
    assert check["kind"] == "memory" and check["metadata"] == {"used_fraction": 0.5}
    assert 0 <= check["duration_seconds"] < 5 and 0 <= check["age_seconds"] < 60
    assert list(data["checks"]) == ["memory", "ok"]

    mem.status = HealthStatus.WARNING
    code, _, body = get(server.url("/health"))
    assert code == 200 and json.loads(body)["status"] == "Warning"

    mem.status = HealthStatus.UNHEALTHY
    code, _, body = get(server.url("/health"))
    assert code == 503 and json.loads(body)["checks"]["memory"]["status"] == "Unhealthy"


def test_live_and_ready(served: tuple[HealthCheckManager, LocalHttpServer, Settable]) -> None:
    manager, server, mem = served
    assert get(server.url("/health/live"))[0] == 200
    code, _, body = get(server.url("/health/ready"))
    assert code == 503 and b"no health round" in body  # nothing checked yet
    manager.check_all()
    assert get(server.url("/health/ready"))[0] == 200
    mem.status = HealthStatus.UNHEALTHY
    manager.check_all(force=True)
    code, _, body = get(server.url("/health/ready"))
    assert code == 503 and body == b"not ready: unhealthy: memory\n"
    assert get(server.url("/health/live"))[0] == 200  # alive even when unhealthy


def test_with_the_loop_running_health_reads_the_latest_results(
    served: tuple[HealthCheckManager, LocalHttpServer, Settable],
) -> None:
    manager, server, _ = served
    manager.start()
    assert manager.wait_for_rounds(1, timeout_s=10)
    rounds = manager.completed_rounds
    data = json.loads(get(server.url("/health"))[2])
    assert data["completed_rounds"] >= rounds
    assert data["status"] == "Healthy"

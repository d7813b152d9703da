"""gateway/app.py over HTTP: the gateway's own endpoints answer misses as its JSON errors and
never redirect; without a rollout extension all of `/admin` is off."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import running_gateway

ADMIN_PATHS = ["/admin", "/admin/", "/admin/rollout", "/admin/rollout/", "/admin/rollout/start",
               "/admin/ui/", "/admin/x/y/z"]  # fmt: skip
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


@pytest.fixture(scope="module")
def static(upstreams):
    """A gateway with a static percent: no rollout store, so no admin API."""
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1],
        percent_source="static", admin_token="an-admin-token",
    ) as (url, app):  # fmt: skip
        yield url, app


def test_without_a_rollout_store_everything_under_admin_is_404_json(static, upstreams):
    url, app = static
    before = upstreams["legacy"][0].hits + upstreams["canary"][0].hits
    for path in ADMIN_PATHS:
        for method in METHODS:
            response = httpx.request(
                method, url + path, headers={"host": "evil.example", "x-request-id": "rid-1"}
            )
            assert response.status_code == 404, (method, path)
            assert "location" not in response.headers, (method, path)
            assert response.headers["x-request-id"] == "rid-1"
            if method != "HEAD":
                assert response.json() == {
                    "error": "admin API is off (no rollout store)",
                    "code": "admin_disabled",
                    "request_id": "rid-1",
                }, (method, path)
    assert upstreams["legacy"][0].hits + upstreams["canary"][0].hits == before  # never proxied
    assert app.runtime.aggregator.drain() == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/metrics"), ("DELETE", "/healthz"),
                                              ("PUT", "/readyz")])  # fmt: skip
def test_a_wrong_method_on_an_own_endpoint_is_405_json(static, method, path):
    url, _ = static
    response = httpx.request(method, url + path)
    assert response.status_code == 405
    body = response.json()
    assert (body["code"], body["error"]) == ("method_not_allowed", "method not allowed")
    assert len(body["request_id"]) == 32 and "allow" in response.headers


@pytest.mark.anyio
async def test_a_static_percent_gateway_keeps_no_aggregates_nobody_drains(upstreams, monkeypatch):
    """Built as `python -m gateway` builds it (`build_app`) with GATEWAY_PERCENT_SOURCE=static:
    no rollout extension drains aggregates, so none are kept; per-second state would otherwise
    grow by a row per series and second for as long as the process lives. The requests are
    still counted in /metrics."""
    import itertools
    import tracemalloc

    from gateway.__main__ import build_app

    monkeypatch.setenv("GATEWAY_PERCENT_SOURCE", "static")
    monkeypatch.setenv("GATEWAY_CANARY_PERCENT", "50")
    monkeypatch.setenv("GATEWAY_LEGACY_URL", upstreams["legacy"][1])
    monkeypatch.setenv("GATEWAY_CANARY_URL", upstreams["canary"][1])
    monkeypatch.setenv("GATEWAY_ACCESS_LOG", "false")
    app = build_app()
    seconds = itertools.count(1_000_000)
    app.runtime.recorder.clock = lambda: float(next(seconds))  # every request a new second
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    def scope(uid: str) -> dict:
        return {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x",
                "query_string": b"", "headers": [(b"x-user-id", uid.encode())],
                "client": ("127.0.0.1", 1), "scheme": "http"}  # fmt: skip

    await app.runtime.client.open()
    tracemalloc.start()
    try:
        for i in range(20):  # warm-up: connections, metric children
            await app.proxy(scope(f"warm-{i}"), receive, send)
        before = tracemalloc.take_snapshot()
        for i in range(200):
            await app.proxy(scope(f"user-{i}"), receive, send)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        await app.runtime.client.close()
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200] * 220
    assert app.runtime.aggregator is None
    grown = [
        stat for stat in after.compare_to(before, "filename")
        if stat.traceback[0].filename.endswith("gateway/aggregate.py") and stat.size_diff > 0
    ]  # fmt: skip
    assert grown == []
    [family] = app.runtime.metrics.requests.collect()
    served = [s for s in family.samples if s.name == "gateway_requests_total"
              and s.labels["target"] != "baseline"]  # fmt: skip
    assert sum(s.value for s in served) == 220


@pytest.mark.parametrize(
    ("settings", "on"),
    [({}, True), ({"access_log": False}, False), ({"log_level": "WARNING"}, False),
     ({"log_level": "debug"}, True)],
)  # fmt: skip
def test_access_lines_are_written_when_enabled_and_info_lines_pass_the_log_level(settings, on):
    """The access log has its own writer, so it follows GATEWAY_LOG_LEVEL by itself: above INFO
    no `gateway.request` line is written, as structlog would drop an info event."""
    from prometheus_client import CollectorRegistry

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    app = create_app(GatewaySettings(percent_source="static", **settings),
                     registry=CollectorRegistry())  # fmt: skip
    assert (app.runtime.access is not None) is on
    assert app.runtime.recorder.access is app.runtime.access

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

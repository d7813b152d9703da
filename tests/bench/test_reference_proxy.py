"""bench/reference_proxy.py: the yardstick forwards like a proxy, to the side its bucket picks."""

from __future__ import annotations

import httpx
import pytest

from bench.reference_proxy import ReferenceProxy
from tests.gateway.upstreams import Upstream
from tests.support.servers import serve_app


@pytest.fixture
def reference(monkeypatch):
    legacy, canary = Upstream("legacy"), Upstream("canary")
    with serve_app(legacy.app) as legacy_url, serve_app(canary.app) as canary_url:
        monkeypatch.setenv("REFERENCE_LEGACY_URL", legacy_url)
        monkeypatch.setenv("REFERENCE_CANARY_URL", canary_url)
        monkeypatch.setenv("REFERENCE_CANARY_PERCENT", "5")
        with serve_app(ReferenceProxy()) as url:
            yield url


def test_the_bucket_of_x_user_id_picks_the_side(reference):
    sides = {uid: httpx.get(reference + "/x", headers={"x-user-id": uid}).json()["name"]
             for uid in ("user_19", "user_54", "alice", "bob")}  # fmt: skip
    assert sides == {"user_19": "canary", "user_54": "canary", "alice": "legacy", "bob": "legacy"}
    assert httpx.get(reference + "/x").json()["name"] == "legacy"  # no identity


def test_method_path_query_body_and_headers_pass_through(reference):
    response = httpx.post(reference + "/chat?a=1", content=b'{"m":"hi"}',
                          headers={"content-type": "application/json", "x-extra": "1"})  # fmt: skip
    echo = response.json()
    assert (echo["method"], echo["path"], echo["query"], echo["body"]) == (
        "POST", "/chat", "a=1", '{"m":"hi"}'
    )  # fmt: skip
    sent = dict(echo["headers"])
    assert sent["x-extra"] == "1" and sent["content-type"] == "application/json"
    assert response.headers["x-upstream"] == "legacy"

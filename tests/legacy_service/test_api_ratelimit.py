"""The 30/minute limit over HTTP: 429 shape, which paths count, and the X-Forwarded-For rule."""

from __future__ import annotations

import pytest

from .conftest import legacy_client, make_settings

CHAT = {"message": "안녕하세요", "user_id": "u"}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_31st_request_is_429_with_retry_after():
    clock = FakeClock()
    with legacy_client(make_settings(rate_limit="30/minute"), clock=clock) as client:
        statuses = [client.get("/health").status_code for _ in range(15)]
        statuses += [client.post("/chat", json=CHAT).status_code for _ in range(15)]
        assert statuses == [200] * 30
        clock.now += 20
        refused = client.post("/chat", json=CHAT)
        assert refused.status_code == 429
        assert refused.json() == {"error": "Rate limit exceeded: 30 per 1 minute"}
        assert refused.headers["retry-after"] == "40"
        assert refused.headers["x-content-type-options"] == "nosniff"
        # why: only /chat and /health are limited (as the original); /metrics never is.
        assert client.get("/").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert "legacy_rate_limited_total 1.0" in client.get("/metrics").text
        clock.now += 40  # the window has passed
        assert client.get("/health").status_code == 200


def test_trusted_proxy_forwarded_for_keeps_users_apart():
    # the test client's peer is 127.0.0.1: a trusted proxy by default, like the gateway
    with legacy_client(make_settings(rate_limit="2/minute"), clock=FakeClock()) as client:
        alice = {"X-Forwarded-For": "198.51.100.1"}
        bob = {"X-Forwarded-For": "198.51.100.2"}
        assert [client.get("/health", headers=alice).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert client.get("/health", headers=bob).status_code == 200


@pytest.mark.parametrize("trusted", [["10.0.0.0/8"], "192.0.2.1"])
def test_untrusted_peer_forwarded_for_is_ignored(trusted):
    settings = make_settings(rate_limit="2/minute", trusted_proxies=trusted)
    with legacy_client(settings, clock=FakeClock()) as client:
        spoofed = [
            client.get("/health", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(3)
        ]
        assert spoofed == [200, 200, 429]


def test_preflight_is_not_counted():
    with legacy_client(make_settings(rate_limit="1/minute"), clock=FakeClock()) as client:
        preflight = {"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
        for _ in range(3):
            assert client.options("/chat", headers=preflight).status_code == 200
        assert client.post("/chat", json=CHAT).status_code == 200

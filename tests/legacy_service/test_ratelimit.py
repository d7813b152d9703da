"""Rate rules, the fixed window and the X-Forwarded-For rule (pure; HTTP behaviour in test_api)."""

from __future__ import annotations

import pytest

from legacy_service.ratelimit import (
    RateDecision,
    RateLimiter,
    RateRule,
    Window,
    client_ip,
    decide,
    parse_networks,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("30/minute", RateRule(30, "minute", 60)),
        ("1000/second", RateRule(1000, "second", 1)),
        (" 5 / Hour ", RateRule(5, "hour", 3600)),
        ("2/minutes", RateRule(2, "minute", 60)),
    ],
)
def test_parse_rate(text, rule):
    assert parse_rate(text) == rule


@pytest.mark.parametrize(
    "text", ["", "30", "30/day", "abc/minute", "0/minute", "-1/minute", "30 per minute"]
)
def test_parse_rate_rejects(text):
    with pytest.raises(ValueError, match="30/minute"):
        parse_rate(text)


def test_describe_matches_slowapi_wording():
    assert parse_rate("30/minute").describe() == "30 per 1 minute"


RULE = RateRule(2, "minute", 60)


@pytest.mark.parametrize(
    ("window", "now", "expected_window", "decision"),
    [
        # why: the first hit opens a window at `now`.
        (None, 100.0, Window(100.0, 1), RateDecision(True, 1, 60)),
        (Window(100.0, 1), 130.0, Window(100.0, 2), RateDecision(True, 0, 30)),
        # why: full window refuses and says when it reopens (rounded up, at least 1 s).
        (Window(100.0, 2), 130.5, Window(100.0, 2), RateDecision(False, 0, 30)),
        (Window(100.0, 2), 159.9, Window(100.0, 2), RateDecision(False, 0, 1)),
        # why: at the period boundary a new window starts.
        (Window(100.0, 2), 160.0, Window(160.0, 1), RateDecision(True, 1, 60)),
    ],
)
def test_decide(window, now, expected_window, decision):
    assert decide(window, now, RULE) == (expected_window, decision)


def test_limiter_keeps_keys_apart_and_sweeps():
    now = [0.0]
    limiter = RateLimiter(RULE, clock=lambda: now[0], sweep_at=2)
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("b").allowed
    now[0] = 61.0
    limiter.hit("c")  # sweep: a and b expired
    assert set(limiter._windows) == {"c"}


TRUSTED = parse_networks(["127.0.0.1", "::1", "10.0.0.0/8"])


def _scope(peer: str, *xff: str) -> dict:
    headers = [(b"x-forwarded-for", value.encode()) for value in xff]
    return {"type": "http", "client": (peer, 1234), "headers": headers}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (_scope("203.0.113.5"), "203.0.113.5"),
        # why: an untrusted peer's header is the client's own claim: ignored.
        (_scope("203.0.113.5", "1.2.3.4"), "203.0.113.5"),
        (_scope("127.0.0.1", "198.51.100.7"), "198.51.100.7"),
        # why: walk from the right past trusted hops; left of the first untrusted is spoofable.
        (_scope("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3"), "198.51.100.7"),
        (_scope("127.0.0.1", "6.6.6.6", "198.51.100.7"), "198.51.100.7"),  # two headers
        (_scope("::1", "2001:db8::1"), "2001:db8::1"),
        # why: all hops trusted -> the leftmost one is the client.
        (_scope("127.0.0.1", "10.0.0.9, 10.0.0.8"), "10.0.0.9"),
        (_scope("127.0.0.1"), "127.0.0.1"),
        # why: junk stops the walk at the last verified hop.
        (_scope("127.0.0.1", "not-an-ip, 10.0.0.8"), "10.0.0.8"),
        ({"type": "http", "headers": []}, "unknown"),
    ],
)
def test_client_ip(scope, expected):
    assert client_ip(scope, TRUSTED) == expected


def test_client_ip_accepts_request_objects():
    class FakeRequest:
        scope = _scope("127.0.0.1", "198.51.100.7")

    assert client_ip(FakeRequest(), TRUSTED) == "198.51.100.7"

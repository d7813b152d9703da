"""Contract parity: the gateway sends the same requests to either side, so bad input must get the
same answer from legacy and canary (ION_SPEC §1.4, §1.6, §8). Both run as real servers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from legacy_service.app import create_app as create_legacy
from legacy_service.settings import LegacySettings
from tests.canary_service.conftest import running
from tests.support.servers import serve_app

BAD_CHAT = [
    pytest.param({"message": "x"}, id="missing user_id"),
    pytest.param({"user_id": "u"}, id="missing message"),
    pytest.param({"message": "", "user_id": "u"}, id="empty message"),
    pytest.param({"message": "   ", "user_id": "u"}, id="whitespace message"),
    pytest.param({"message": "x" * 1001, "user_id": "u"}, id="message too long"),
    pytest.param({"message": "x", "user_id": "   "}, id="whitespace user_id"),
    pytest.param({"message": "x", "user_id": "u" * 129}, id="user_id too long"),
    pytest.param({"message": 5, "user_id": "u"}, id="wrong type"),
    pytest.param([1, 2], id="not an object"),
]
BAD_RECOMMEND = [
    pytest.param({"query": "x"}, id="recommend missing user_id"),
    pytest.param({"user_id": "u"}, id="recommend missing query"),
]


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[str, str]]:
    legacy = create_legacy(LegacySettings(rate_limit="100000/minute"), registry=CollectorRegistry())
    with serve_app(legacy) as legacy_url, running() as canary_url:
        yield legacy_url, canary_url


def post_both(both: tuple[str, str], path: str, **kwargs) -> tuple[httpx.Response, ...]:
    return tuple(httpx.post(f"{url}{path}", **kwargs) for url in both)


@pytest.mark.parametrize("body", BAD_CHAT)
def test_chat_rejects_bad_input_like_legacy(both, body) -> None:
    legacy, canary = post_both(both, "/chat", json=body)
    assert canary.status_code == legacy.status_code == 422
    assert canary.json() == legacy.json()


@pytest.mark.parametrize("body", BAD_RECOMMEND)
def test_recommend_rejects_bad_input_like_legacy(both, body) -> None:
    legacy, canary = post_both(both, "/api/v2/recommend/personalized", json=body)
    assert canary.status_code == legacy.status_code == 422
    assert canary.json() == legacy.json()


def test_invalid_json_like_legacy(both) -> None:
    headers = {"content-type": "application/json"}
    legacy, canary = post_both(both, "/chat", content=b"{not json", headers=headers)
    assert canary.status_code == legacy.status_code == 422
    assert canary.json() == legacy.json()


def test_long_message_loc_is_tagged(both) -> None:
    _, canary = post_both(both, "/chat", json={"message": "x" * 1001, "user_id": "u"})
    assert canary.json()["detail"][0]["loc"] == ["body", "message", "max_message_length"]


def test_valid_chat_has_every_legacy_field_with_the_same_key(both) -> None:
    body = {"message": "이거 진짜 답답해요! 왜 안 되는 거죠?", "user_id": "test-user-123"}
    legacy, canary = (r.json() for r in post_both(both, "/chat", json=body))
    assert set(legacy) <= set(canary)
    assert canary["resonance_key"] == legacy["resonance_key"] == "curious-burst-inquiry"
    assert canary["metadata"]["rhythm"] == legacy["metadata"]["rhythm"]


def test_extra_fields_are_ignored(both) -> None:
    legacy, canary = post_both(both, "/chat", json={"message": "x", "user_id": "u", "extra": 1})
    assert canary.status_code == legacy.status_code == 200


def test_root_and_health_keys_match(both) -> None:
    for path in ("/", "/health"):
        legacy, canary = (httpx.get(f"{url}{path}").json() for url in both)
        assert set(legacy) - {"redis_cache"} <= set(canary), path

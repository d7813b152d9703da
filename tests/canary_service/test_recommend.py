"""Recommend through Lumen (ION_SPEC §6.2 success branch), with the all_scores fix (§9.12)."""

from __future__ import annotations

import httpx
import pytest

from canary_service.lumen import PERSONAS
from canary_service.recommend import all_scores, recommendation
from canary_service.responder import LumenReply
from tests.canary_service.conftest import running


@pytest.mark.parametrize(
    ("primary", "expected"),
    [
        ("Lua", {"Lua": 0.9, "Elro": 0.25, "Riri": 0.2}),
        ("Elro", {"Elro": 0.9, "Lua": 0.3, "Riri": 0.2}),
        ("Riri", {"Riri": 0.9, "Lua": 0.3, "Elro": 0.25}),
        ("Nana", {"Nana": 0.9, "Lua": 0.3, "Elro": 0.25, "Riri": 0.2}),
    ],
)
def test_primary_keeps_its_score(primary: str, expected: dict[str, float]) -> None:
    scores = all_scores(primary)
    assert scores == expected
    assert max(scores, key=scores.get) == primary, "primary is the argmax (§9.12 not reproduced)"


def test_success_shape_is_the_lumen_branch() -> None:
    reply = LumenReply(PERSONAS["square"], "설명", True, ["Google AI Studio"])
    body = recommendation(reply, 12)
    assert body["primary_persona"] == "Elro" and body["confidence"] == 0.9
    assert body["ranked_recommendations"] == [
        {"persona": "Elro", "score": 0.9, "reason": "Lumen Gateway (📐 엘로)"}
    ]
    assert body["explanation"] == "설명"
    assert body["metadata"] == {
        "model_version": "lumen_hybrid_v1",
        "processing_time_ms": 12,
        "algorithm": "lumen_gateway",
        "ab_group": "lumen_treatment",
        "lumen_sources": ["Google AI Studio"],
        "lumen_persona": {
            "name": "엘로",
            "type": "구조형",
            "emoji": "📐",
            "specialty": "논리, 체계",
        },
        "feature_flag": "LUMEN_GATEWAY=true",
    }


@pytest.mark.parametrize(
    ("query", "primary"),
    [
        ("창의적인 아이디어", "Lua"),
        ("전체적인 패턴을 관찰하고 메타 분석해줘", "Elro"),  # client order: square before earth
        ("통찰이 필요해", "Riri"),
        ("추천해줘", "Nana"),
    ],
)
def test_recommend_through_a_real_server(query: str, primary: str) -> None:
    with running() as url:
        response = httpx.post(
            f"{url}/api/v2/recommend/personalized",
            json={"user_id": "u", "query": query, "options": {"session_id": "s", "top_k": 3}},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["primary_persona"] == primary
    assert body["metadata"]["model_version"] == "lumen_hybrid_v1"
    assert body["explanation"].endswith("(Mock response - Google AI not configured)")

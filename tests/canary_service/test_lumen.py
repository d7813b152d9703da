"""Lumen keyword rules and persona mapping (ION_SPEC §6.3, §6.4): one row per rule."""

from __future__ import annotations

import pytest

from canary_service import lumen


@pytest.mark.parametrize(
    ("message", "expected", "why"),
    [
        ("창의적인 아이디어가 필요해", "moon", "§6.4 example: creative words"),
        ("이 문제를 논리적으로 분석해줘", "square", "§6.4 example: 분석"),
        ("전체적인 상황을 메타적으로 보고 싶어", "earth", "§6.4 example: 전체/메타"),
        ("여러 관점을 통합해서 설명해줘", "pen", "§6.4 example: no keyword -> pen"),
        ("전체적인 패턴을 관찰하고 메타 분석해줘", "earth", "server order: earth before square"),
        ("감성적인 구조를 정리해줘", "moon", "server order: moon before square"),
        ("영감을 주는 전체 그림", "earth", "server order: earth before moon"),
        ("Python의 장점을 간단히 설명해주세요", "pen", "smoke-test message has no keyword"),
        ("", "pen", "empty text -> default"),
    ],
)
def test_server_order(message: str, expected: str, why: str) -> None:
    assert lumen.detect(message).key == expected, why


@pytest.mark.parametrize(
    ("message", "expected", "why"),
    [
        ("전체적인 패턴을 관찰하고 메타 분석해줘", "square", "§6.4: square via the ion-api client"),
        ("감성적인 구조를 정리해줘", "moon", "client order: moon first"),
        ("영감을 주는 전체 그림", "moon", "client order: moon before earth"),
        ("통찰이 필요해", "earth", "client order: earth third"),
        ("안녕하세요", "pen", "no keyword"),
    ],
)
def test_client_order(message: str, expected: str, why: str) -> None:
    assert lumen.detect(message, lumen.CLIENT_ORDER).key == expected, why


@pytest.mark.parametrize(
    ("name", "legacy"),
    [("루아", "Lua"), ("엘로", "Elro"), ("누리", "Riri"), ("세나", "Nana"), ("누구", "Nana")],
)
def test_legacy_name_mapping(name: str, legacy: str) -> None:
    assert lumen.legacy_name(name) == legacy


@pytest.mark.parametrize(
    ("requested", "message", "expected"),
    [
        ("moon", "분석해줘", "moon"),
        ("elo", "창의", "square"),
        ("NURI", "", "earth"),
        ("sena", "창의", "pen"),
        ("unknown", "창의", "moon"),
        (None, "분석", "square"),
    ],
)
def test_resolve_explicit_persona_wins(requested: str | None, message: str, expected: str) -> None:
    assert lumen.resolve(requested, message).key == expected


def test_persona_table_matches_spec() -> None:
    rows = {k: (p.name, p.type, p.emoji, p.specialty) for k, p in lumen.PERSONAS.items()}
    assert rows == {
        "moon": ("루아", "감응형", "🌙", "직감, 창의"),
        "square": ("엘로", "구조형", "📐", "논리, 체계"),
        "earth": ("누리", "관찰형", "🌏", "메타, 균형"),
        "pen": ("세나", "브리지형", "✒️", "연결, 통합"),
    }
    assert lumen.PERSONAS["earth"].as_dict()["key"] == "earth"

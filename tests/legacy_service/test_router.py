"""ION_SPEC §3.5 routing table and the source-asserted router vectors (pure)."""

# ruff: noqa: E501  (vector tables keep one spec row per line)

from __future__ import annotations

import pytest

from legacy_service.personas import PERSONAS
from legacy_service.resonance import convert
from legacy_service.router import ParsedKey, calculate_match_score, parse_key, route

EXACT_NANA_FLOWING = 0.8999999999999999
INTENTS = ("inquiry", "expressive", "statement")

# (tone, pace) -> one (primary, confidence, secondary) per intent in INTENTS order.
ROUTING_TABLE = {
    ("urgent", "burst"): [("Nana", 1.0, "Lua")] * 3,
    ("urgent", "flowing"): [
        ("Nana", EXACT_NANA_FLOWING, "Lua"),
        ("Nana", EXACT_NANA_FLOWING, "Lua"),
        ("Nana", EXACT_NANA_FLOWING, "Elro"),
    ],
    ("urgent", "contemplative"): [("Nana", 1.0, "Lua"), ("Nana", 1.0, "Lua"), ("Nana", 1.0, "Elro")],
    ("curious", "burst"): [("Elro", 0.8, "Riri"), ("Elro", 0.7, "Riri"), ("Elro", 0.8, "Riri")],
    ("curious", "flowing"): [("Elro", 1.0, "Riri"), ("Elro", 0.9, "Riri"), ("Elro", 1.0, "Riri")],
    ("curious", "contemplative"): [("Elro", 1.0, "Riri"), ("Elro", 0.9, "Riri"), ("Elro", 1.0, "Riri")],
    ("frustrated", "burst"): [("Lua", 1.0, "Nana"), ("Lua", 1.0, "Nana"), ("Lua", 0.9, "Nana")],
    ("frustrated", "flowing"): [("Lua", 1.0, "Elro"), ("Lua", 1.0, "Elro"), ("Lua", 0.9, "Elro")],
    ("frustrated", "contemplative"): [("Lua", 1.0, "Elro"), ("Lua", 1.0, "Nana"), ("Lua", 0.9, "Elro")],
}  # fmt: skip
for _tone in ("analytical", "calm"):
    ROUTING_TABLE[(_tone, "burst")] = ROUTING_TABLE[("curious", "burst")]
    ROUTING_TABLE[(_tone, "flowing")] = ROUTING_TABLE[("curious", "flowing")]
    ROUTING_TABLE[(_tone, "contemplative")] = ROUTING_TABLE[("curious", "contemplative")]

ROWS = [
    (f"{tone}-{pace}-{intent}", *cells[index])
    for (tone, pace), cells in ROUTING_TABLE.items()
    for index, intent in enumerate(INTENTS)
]


def _rounded_equal(actual: float, expected: float) -> bool:
    """Exact for the one inexact cell; otherwise the table's 1-decimal value."""
    if expected == EXACT_NANA_FLOWING:
        return actual == EXACT_NANA_FLOWING
    return round(actual, 10) == expected


@pytest.mark.parametrize(
    ("key", "primary", "confidence", "secondary"), ROWS, ids=[r[0] for r in ROWS]
)
def test_routing_table(key, primary, confidence, secondary):
    result = route(key)
    assert (result.primary_persona, result.secondary_persona) == (primary, secondary)
    assert _rounded_equal(result.confidence, confidence), result.confidence


def test_inexact_float_is_kept_exactly():
    # why: the original summed 0.0 + 0.5 + 0.2 + 0.2 and clients saw the inexact value.
    result = route("urgent-flowing-inquiry")
    assert result.confidence == 0.8999999999999999
    assert repr(result.confidence) == "0.8999999999999999"
    assert result.reasoning.endswith("Nana가 가장 적합 (점수: 0.90)")


@pytest.mark.parametrize(
    ("key", "persona", "score"),
    [
        ("frustrated-burst-expressive", "Lua", 1.0),
        ("curious-flowing-inquiry", "Elro", 1.0),
        ("analytical-flowing-statement", "Riri", 1.0),
        ("playful-flowing-inquiry", "Elro", 0.5),
        ("calm-flowing-inquiry", "Nobody", 0.0),  # why: unknown persona scores 0.0
    ],
)
def test_source_asserted_match_scores(key, persona, score):
    assert round(calculate_match_score(key, persona), 10) == score


def test_source_asserted_routes():
    curious = route("curious-flowing-inquiry")
    assert curious.primary_persona in {"Elro", "Riri"}
    assert curious.confidence > 0.5
    assert "감정 톤=curious" in curious.reasoning
    frustrated = route("frustrated-burst-expressive")
    assert frustrated.primary_persona == "Lua"
    assert frustrated.confidence >= 0.8


@pytest.mark.parametrize(
    ("key", "primary", "confidence", "secondary"),
    [
        ("playful-flowing-inquiry", "Lua", 1.0, "Elro"),
        ("invalid-key", "Elro", 1.0, "Riri"),  # why: 2 parts -> (calm, medium, inquiry)
    ],
)
def test_other_ran_checks(key, primary, confidence, secondary):
    result = route(key)
    assert (result.primary_persona, round(result.confidence, 10)) == (primary, confidence)
    assert result.secondary_persona == secondary


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("invalid-key", ParsedKey("calm", "medium", "inquiry")),
        ("a-b-c-d", ParsedKey("calm", "medium", "inquiry")),
        ("neutral-burst-statement", ParsedKey("calm", "burst", "statement")),  # unknown tone
        ("urgent-contemplative-expressive", ParsedKey("urgent", "medium", "expressive")),
        ("curious-flowing-seeking_advice", ParsedKey("curious", "flowing", "seek-advice")),
        ("curious-flowing-seek_advice", ParsedKey("curious", "flowing", "seek-advice")),
        ("curious-flowing-learning", ParsedKey("curious", "flowing", "learning")),
        ("curious-flowing-whatever", ParsedKey("curious", "flowing", "inquiry")),
    ],
)
def test_parse_key(key, parsed):
    assert parse_key(key) == parsed


def test_reasoning_prints_parsed_values():
    # why: `contemplative` is not in the router's enum, so the reasoning says `medium`.
    result = route("calm-contemplative-statement")
    assert result.reasoning == (
        "파동키 'calm-contemplative-statement' 분석 결과: 감정 톤=calm, 속도=medium, "
        "의도=statement. Elro가 가장 적합 (점수: 1.00)"
    )


def test_riri_is_never_primary():
    tones = ("urgent", "curious", "frustrated", "analytical", "calm", "playful", "anxious")
    keys = [f"{t}-{p}-{i}" for t in tones for p in ("burst", "flowing", "medium") for i in INTENTS]
    assert all(route(key).primary_persona != "Riri" for key in keys)
    assert list(PERSONAS) == ["Lua", "Elro", "Riri", "Nana"]


# §5 end to end: input -> (persona, confidence, secondary) through converter and router.
END_TO_END = [
    ("뭐야! 안 돼! 왜?!", "Nana", 1.0, "Lua"),
    ("이 시스템의 아키텍처를 천천히 살펴보면, 여러 흥미로운 패턴들을 발견할 수 있습니다.", "Elro", 1.0, "Riri"),
    ("이 코드를 리팩토링하면 좋을 것 같아요. 의견이 어떠신가요?", "Elro", 1.0, "Riri"),
    ("빨리 해결해야 해요! 급합니다!", "Nana", 1.0, "Lua"),
    ("이 기능은 어떻게 동작하나요? 궁금합니다.", "Elro", 0.8, "Riri"),
    ("왜 이게 안 되는지 모르겠어요. 답답해요.", "Lua", 0.9, "Nana"),
    ("코드 리뷰를 진행하겠습니다.", "Elro", 1.0, "Riri"),
    ("혹시 이 부분을 개선할 수 있는 방법이 있을까요?", "Elro", 1.0, "Riri"),
    ("데이터 분석 결과를 확인해주세요. 리포트가 준비되었습니다.", "Elro", 1.0, "Riri"),
    ("이 코드가 왜 안 돌아가는 거야?! 답답해!", "Elro", 0.8, "Riri"),
    ("이거 진짜 답답해요! 왜 안 되는 거죠?", "Elro", 0.8, "Riri"),
    ("이 코드가 왜 안 돌아가는 거야?!", "Elro", 1.0, "Riri"),
    ("혹시... 이 부분을 개선할 방법이 있을까요?", "Elro", 0.8, "Riri"),
    ("데이터 분석 결과 좀 확인해줄래?", "Elro", 1.0, "Riri"),
    ("안녕하세요", "Elro", 1.0, "Riri"),
    ("도와주세요!", "Elro", 0.7, "Riri"),
    ("Python의 장점을 간단히 설명해주세요", "Elro", 1.0, "Riri"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "primary", "confidence", "secondary"), END_TO_END)
def test_spec_vectors_end_to_end(text, primary, confidence, secondary):
    result = route(convert(text).key)
    assert (result.primary_persona, result.secondary_persona) == (primary, secondary)
    assert round(result.confidence, 10) == confidence

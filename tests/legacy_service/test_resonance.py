"""ION_SPEC §5 vectors and the TRC key vectors for the resonance converter (pure)."""

# ruff: noqa: E501  (vector tables keep one spec row per line)

from __future__ import annotations

import pytest

from legacy_service.resonance import (
    EmotionTone,
    RhythmPattern,
    analyze_rhythm,
    classify_pace,
    convert,
    detect_tone,
    generate_resonance_key,
)

# input, avg sentence length, punctuation density, question ratio, exclamation ratio, pace,
# tone, tone confidence, key. One row per §5 line; values as the original code computed them.
VECTORS = [
    ("뭐야! 안 돼! 왜?!", 1.333, 0.3333, 0.333, 1.0, "fast", "urgent", 0.7, "urgent-burst-inquiry"),
    (
        "이 시스템의 아키텍처를 천천히 살펴보면, 여러 흥미로운 패턴들을 발견할 수 있습니다.",
        11, 0.0426, 0, 0, "slow", "calm", 0.5, "calm-contemplative-statement",
    ),
    (
        "이 코드를 리팩토링하면 좋을 것 같아요. 의견이 어떠신가요?",
        4.0, 0.0606, 0.5, 0, "medium", "curious", 0.7, "curious-flowing-inquiry",
    ),
    ("빨리 해결해야 해요! 급합니다!", 2.0, 0.1176, 0, 1.0, "fast", "urgent", 0.7, "urgent-burst-expressive"),
    (
        "이 기능은 어떻게 동작하나요? 궁금합니다.",
        2.5, 0.0870, 0.5, 0, "fast", "curious", 0.7, "curious-burst-inquiry",
    ),
    (
        "왜 이게 안 되는지 모르겠어요. 답답해요.",
        3.0, 0.0870, 0, 0, "fast", "frustrated", 0.6, "frustrated-burst-statement",
    ),
    ("코드 리뷰를 진행하겠습니다.", 3.0, 0.0667, 0, 0, "medium", "calm", 0.5, "calm-flowing-statement"),
    (
        "혹시 이 부분을 개선할 수 있는 방법이 있을까요?",
        8.0, 0.0370, 1.0, 0, "medium", "curious", 0.7, "curious-flowing-inquiry",
    ),
    (
        "데이터 분석 결과를 확인해주세요. 리포트가 준비되었습니다.",
        3.0, 0.0625, 0, 0, "medium", "analytical", 0.6, "analytical-flowing-statement",
    ),
    (
        "이 코드가 왜 안 돌아가는 거야?! 답답해!",
        3.5, 0.125, 0.5, 1.0, "fast", "curious", 0.7, "curious-burst-inquiry",
    ),
    (
        "이거 진짜 답답해요! 왜 안 되는 거죠?",
        3.5, 0.0909, 0.5, 0.5, "fast", "curious", 0.7, "curious-burst-inquiry",
    ),
    (
        "이 코드가 왜 안 돌아가는 거야?!",
        6.0, 0.1053, 1.0, 1.0, "medium", "curious", 0.7, "curious-flowing-inquiry",
    ),
    (
        "혹시... 이 부분을 개선할 방법이 있을까요?",
        3.0, 0.16, 0.5, 0, "fast", "curious", 0.7, "curious-burst-inquiry",
    ),
    (
        "데이터 분석 결과 좀 확인해줄래?",
        5.0, 0.0556, 1.0, 0, "medium", "curious", 0.7, "curious-flowing-inquiry",
    ),
    ("안녕하세요", 1.0, 0, 0, 0, "medium", "calm", 0.5, "calm-flowing-statement"),
    ("도와주세요!", 1.0, 0.1667, 0, 1.0, "fast", "calm", 0.5, "calm-burst-expressive"),
    ("Python의 장점을 간단히 설명해주세요", 4.0, 0, 0, 0, "medium", "calm", 0.5, "calm-flowing-statement"),
    ("", 0, 0, 0, 0, "medium", "calm", 0.5, "calm-flowing-statement"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "avg", "density", "question", "exclaim", "pace", "tone", "tone_conf", "key"),
    VECTORS,
    ids=[row[0][:16] or "empty" for row in VECTORS],
)
def test_spec_vectors(text, avg, density, question, exclaim, pace, tone, tone_conf, key):
    result = convert(text)
    rhythm = result.rhythm
    assert rhythm.avg_sentence_length == pytest.approx(avg, abs=5e-4)
    assert rhythm.punctuation_density == pytest.approx(density, abs=5e-4)
    assert rhythm.question_ratio == pytest.approx(question, abs=5e-4)
    assert rhythm.exclamation_ratio == pytest.approx(exclaim, abs=5e-4)
    assert rhythm.pace == pace
    assert result.tone == EmotionTone(tone, tone_conf, None)
    assert result.key == key


@pytest.mark.parametrize(
    ("rhythm", "tone", "key"),
    [
        (RhythmPattern(3, 0.1, 0, 1, "fast"), "urgent", "urgent-burst-expressive"),
        (RhythmPattern(8, 0.03, 0.5, 0, "medium"), "curious", "curious-flowing-inquiry"),
        (RhythmPattern(18, 0.02, 0, 0, "slow"), "calm", "calm-contemplative-statement"),
        # why: both intent thresholds are strict (> 0.3), and inquiry beats expressive.
        (RhythmPattern(3, 0.1, 0.3, 0.3, "fast"), "calm", "calm-burst-statement"),
        (RhythmPattern(3, 0.1, 0.31, 1.0, "fast"), "calm", "calm-burst-inquiry"),
        # why: an unknown pace maps to the word `neutral`.
        (RhythmPattern(3, 0.1, 0, 0, "weird"), "calm", "calm-neutral-statement"),
    ],
)
def test_trc_key_vectors(rhythm, tone, key):
    assert generate_resonance_key(rhythm, EmotionTone(tone, 0.5)) == key


@pytest.mark.parametrize(
    ("avg", "density", "pace"),
    [
        (3.9, 0.081, "fast"),
        (4.0, 0.5, "medium"),  # why: avg < 4 is strict
        (3.0, 0.08, "medium"),  # why: density > 0.08 is strict
        (10.0, 0.0, "slow"),  # why: avg >= 10 is inclusive
        (9.99, 0.0, "medium"),
    ],
)
def test_pace_thresholds(avg, density, pace):
    assert classify_pace(avg, density) == pace


@pytest.mark.parametrize(
    ("text", "tone"),
    [
        ("급해요? 왜?", "urgent"),  # why: urgent is checked before curious
        ("이상하네?", "curious"),  # why: any '?' makes it curious before frustrated
        ("문제 분석", "frustrated"),  # why: frustrated before analytical
        ("WAIT!!!", "urgent"),  # why: '!!!' is an urgent keyword
        ("결과 보고", "analytical"),
        ("hello", "calm"),
    ],
)
def test_tone_rule_order(text, tone):
    assert detect_tone(text).primary == tone


def test_rhythm_counts_code_points_with_spaces():
    # 5 code points, one '!' -> density 0.2; one sentence of two words.
    rhythm = analyze_rhythm("ab c!")
    assert rhythm.punctuation_density == pytest.approx(0.2)
    assert rhythm.avg_sentence_length == 2.0

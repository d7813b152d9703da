"""The resonance converter (파동키 변환, ION_SPEC §2): text -> rhythm, tone and resonance key.

Offline and deterministic, as the original pipeline built it (no model client). The thresholds
are the implemented ones, not the design doc's (§2.4), because clients and vectors saw these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_SPLIT = re.compile(r"[.!?]+")
_PUNCTUATION = frozenset(".,!?;:")

# First match wins; a substring test on the lower-cased text (§2.2).
TONE_RULES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("urgent", ("급해", "빨리", "!!!", "안 돼"), 0.7),
    ("curious", ("궁금", "?", "혹시", "어떻게"), 0.7),
    ("frustrated", ("답답", "왜", "이상", "문제", "안 돌아"), 0.6),
    ("analytical", ("분석", "확인", "리포트", "결과"), 0.6),
)
DEFAULT_TONE = ("calm", 0.5)

PACE_WORDS = {"fast": "burst", "medium": "flowing", "slow": "contemplative"}


@dataclass(frozen=True)
class RhythmPattern:
    """Shape of the text: how long its sentences are and how punctuated it is."""

    avg_sentence_length: float
    punctuation_density: float
    question_ratio: float
    exclamation_ratio: float
    pace: str  # fast | medium | slow


@dataclass(frozen=True)
class EmotionTone:
    primary: str
    confidence: float
    secondary: str | None = None


@dataclass(frozen=True)
class Resonance:
    """Everything the converter learns from one input; the pipeline reports all of it."""

    rhythm: RhythmPattern
    tone: EmotionTone
    key: str


def split_sentences(text: str) -> list[str]:
    return [piece.strip() for piece in _SENTENCE_SPLIT.split(text) if piece.strip()]


def classify_pace(avg_sentence_length: float, punctuation_density: float) -> str:
    """Korean words are short, so 'fast' needs both short sentences and dense punctuation."""
    if avg_sentence_length < 4 and punctuation_density > 0.08:
        return "fast"
    if avg_sentence_length >= 10:
        return "slow"
    return "medium"


def analyze_rhythm(text: str) -> RhythmPattern:
    sentences = split_sentences(text)
    divisor = max(len(sentences), 1)
    avg = sum(len(sentence.split()) for sentence in sentences) / divisor
    density = sum(1 for char in text if char in _PUNCTUATION) / max(len(text), 1)
    return RhythmPattern(
        avg_sentence_length=avg,
        punctuation_density=density,
        question_ratio=text.count("?") / divisor,
        exclamation_ratio=text.count("!") / divisor,
        pace=classify_pace(avg, density),
    )


def detect_tone(text: str) -> EmotionTone:
    """Offline keyword rules; any '?' makes a text curious unless it was urgent first (§2.2)."""
    lowered = text.lower()
    for tone, keywords, confidence in TONE_RULES:
        if any(keyword in lowered for keyword in keywords):
            return EmotionTone(tone, confidence)
    return EmotionTone(*DEFAULT_TONE)


def classify_intent(rhythm: RhythmPattern) -> str:
    if rhythm.question_ratio > 0.3:
        return "inquiry"
    if rhythm.exclamation_ratio > 0.3:
        return "expressive"
    return "statement"


def generate_resonance_key(rhythm: RhythmPattern, tone: EmotionTone) -> str:
    pace_word = PACE_WORDS.get(rhythm.pace, "neutral")
    return f"{tone.primary}-{pace_word}-{classify_intent(rhythm)}"


def convert(text: str) -> Resonance:
    """Rhythm, tone and key of `text`; empty text is `calm-flowing-statement`, as the original."""
    rhythm = analyze_rhythm(text)
    tone = detect_tone(text)
    return Resonance(rhythm=rhythm, tone=tone, key=generate_resonance_key(rhythm, tone))

"""The persona router (ION_SPEC §3.2-3.4): resonance key -> best persona, score and reasoning.

Scores are summed left to right from 0.0 in floating point on purpose: the original returned
`0.8999999999999999` for Nana on urgent-flowing keys and clients saw exactly that number.
"""

from __future__ import annotations

from dataclasses import dataclass

from legacy_service.personas import (
    DEFAULT_INTENT,
    DEFAULT_PACE,
    DEFAULT_TONE,
    INTENTS,
    PACES,
    PERSONAS,
    TONES,
)

TONE_SCORE = 0.5


@dataclass(frozen=True)
class ParsedKey:
    tone: str
    pace: str
    intent: str


@dataclass(frozen=True)
class RoutingResult:
    primary_persona: str
    confidence: float
    secondary_persona: str | None
    reasoning: str
    all_scores: dict[str, float]


def normalize_intent(raw: str) -> str:
    intent = raw.replace("_", "-")
    if intent == "seeking-advice":
        intent = "seek-advice"
    return intent if intent in INTENTS else DEFAULT_INTENT


def parse_key(key: str) -> ParsedKey:
    """Unknown parts fall back to defaults instead of failing: a bad key still routes."""
    parts = key.split("-")
    if len(parts) != 3:
        return ParsedKey(DEFAULT_TONE, DEFAULT_PACE, DEFAULT_INTENT)
    tone, pace, intent = parts
    return ParsedKey(
        tone=tone if tone in TONES else DEFAULT_TONE,
        pace=pace if pace in PACES else DEFAULT_PACE,
        intent=normalize_intent(intent),
    )


def score_parsed(parsed: ParsedKey, persona_name: str) -> float:
    persona = PERSONAS.get(persona_name)
    if persona is None:
        return 0.0
    score = 0.0
    score += TONE_SCORE if parsed.tone in persona.preferred_tones else 0.0
    score += persona.pace_scores.get(parsed.pace, 0.0)
    score += persona.intent_scores.get(parsed.intent, 0.0)
    return score


def calculate_match_score(key: str, persona_name: str) -> float:
    """Match score in [0, 1] of one persona for one key; 0.0 for an unknown persona."""
    return score_parsed(parse_key(key), persona_name)


def reasoning_for(key: str, parsed: ParsedKey, primary: str, score: float) -> str:
    return (
        f"파동키 '{key}' 분석 결과: 감정 톤={parsed.tone}, 속도={parsed.pace}, "
        f"의도={parsed.intent}. {primary}가 가장 적합 (점수: {score:.2f})"
    )


def route(key: str) -> RoutingResult:
    """Best persona first; `sorted` is stable, so ties keep the Lua, Elro, Riri, Nana order."""
    parsed = parse_key(key)
    scores = {name: score_parsed(parsed, name) for name in PERSONAS}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    primary, confidence = ranked[0]
    return RoutingResult(
        primary_persona=primary,
        confidence=confidence,
        secondary_persona=ranked[1][0] if len(ranked) > 1 else None,
        reasoning=reasoning_for(key, parsed, primary, confidence),
        all_scores=scores,
    )

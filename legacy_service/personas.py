"""The four legacy personas (ION_SPEC §3.1, §3.3) and the vocabulary keys are parsed into.

Order matters: Lua, Elro, Riri, Nana is the tie-break order of the router's stable sort, which
is why Elro always beats Riri (their score tables are identical).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

TONES = frozenset(
    {
        "frustrated",
        "calm",
        "curious",
        "analytical",
        "playful",
        "anxious",
        "urgent",
        "confused",
        "collaborative",
    }
)
# The converter also emits `contemplative`, which the router does not know: it scores as medium.
PACES = frozenset({"burst", "flowing", "medium"})
INTENTS = frozenset({"inquiry", "statement", "expressive", "seek-advice", "learning"})

DEFAULT_TONE = "calm"
DEFAULT_PACE = "medium"
DEFAULT_INTENT = "inquiry"


@dataclass(frozen=True)
class Persona:
    name: str
    korean: str
    emoji: str
    role: str
    prompt_style: str
    preferred_tones: frozenset[str]
    pace_scores: Mapping[str, float] = field(default_factory=dict)
    intent_scores: Mapping[str, float] = field(default_factory=dict)


def _scores(**values: float) -> Mapping[str, float]:
    return MappingProxyType(values)


LUA = Persona(
    name="Lua",
    korean="루아",
    emoji="🌊",
    role="감성 공감",
    prompt_style="warm_and_encouraging",
    preferred_tones=frozenset({"frustrated", "playful", "anxious"}),
    pace_scores=_scores(burst=0.3, flowing=0.3, medium=0.3),
    intent_scores=_scores(inquiry=0.2, statement=0.1, expressive=0.2),
)
ELRO = Persona(
    name="Elro",
    korean="엘로",
    emoji="📐",
    role="구조 설계",
    prompt_style="structured_and_precise",
    preferred_tones=frozenset({"curious", "analytical", "calm"}),
    pace_scores=_scores(burst=0.1, flowing=0.3, medium=0.3),
    intent_scores=_scores(inquiry=0.2, statement=0.2, expressive=0.1),
)
RIRI = Persona(
    name="Riri",
    korean="리리",
    emoji="📊",
    role="균형 관찰",
    prompt_style="data_driven_measurable",
    preferred_tones=frozenset({"analytical", "calm", "curious"}),
    pace_scores=_scores(burst=0.1, flowing=0.3, medium=0.3),
    intent_scores=_scores(inquiry=0.2, statement=0.2, expressive=0.1),
)
NANA = Persona(
    name="Nana",
    korean="나나",
    emoji="✒️",
    role="팀 조율",
    prompt_style="coordinating_and_comprehensive",
    preferred_tones=frozenset({"urgent", "confused", "collaborative"}),
    pace_scores=_scores(burst=0.3, flowing=0.2, medium=0.3),
    intent_scores=_scores(inquiry=0.2, statement=0.2, expressive=0.2),
)

PERSONAS: Mapping[str, Persona] = MappingProxyType(
    {persona.name: persona for persona in (LUA, ELRO, RIRI, NANA)}
)
FALLBACK_PERSONA = "Nana"

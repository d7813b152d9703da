"""The four Lumen personas and the keyword rules that pick one (ION_SPEC §6.3, §6.4). Pure.

Two orders exist in the original: the ion-api Lumen client tries moon → square → earth → pen
(§6.3), the Lumen Gateway server tries earth first ("highest priority") → moon → square → pen
(§6.4). The canary *is* the Lumen Gateway answering `/chat` itself, so it uses the **server order**
(`SERVER_ORDER`); `CLIENT_ORDER` is kept for callers that reproduce the client. Example of the
difference: "전체적인 패턴을 관찰하고 메타 분석해줘" is earth here, square via the client.

Lumen names map onto the legacy persona family for the shared `/chat` fields (§9.8):
루아→Lua, 엘로→Elro, 누리→Riri, 세나→Nana, anything else→Nana.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LumenPersona:
    key: str
    name: str
    type: str
    emoji: str
    specialty: str
    legacy_name: str

    def as_dict(self) -> dict[str, str]:
        """The `{name, type, emoji, specialty, key}` shape the Lumen Gateway answers with."""
        return {
            "name": self.name,
            "type": self.type,
            "emoji": self.emoji,
            "specialty": self.specialty,
            "key": self.key,
        }


PERSONAS: dict[str, LumenPersona] = {
    "moon": LumenPersona("moon", "루아", "감응형", "🌙", "직감, 창의", "Lua"),
    "square": LumenPersona("square", "엘로", "구조형", "📐", "논리, 체계", "Elro"),
    "earth": LumenPersona("earth", "누리", "관찰형", "🌏", "메타, 균형", "Riri"),
    "pen": LumenPersona("pen", "세나", "브리지형", "✒️", "연결, 통합", "Nana"),
}

KEYWORDS: dict[str, tuple[str, ...]] = {
    "moon": ("창의", "아이디어", "상상", "느낌", "감성", "영감"),
    "square": ("정리", "구조", "체계", "분석", "계획", "단계"),
    "earth": ("관찰", "메타", "균형", "전체", "통찰", "패턴"),
}

SERVER_ORDER: tuple[str, ...] = ("earth", "moon", "square")
CLIENT_ORDER: tuple[str, ...] = ("moon", "square", "earth")
DEFAULT_KEY = "pen"

_ALIASES = {"lua": "moon", "elo": "square", "nuri": "earth", "sena": "pen"}
_LEGACY_BY_NAME = {p.name: p.legacy_name for p in PERSONAS.values()}


def detect(message: str, order: tuple[str, ...] = SERVER_ORDER) -> LumenPersona:
    """First persona in `order` whose keyword occurs in the message; pen when none does."""
    text = message.lower()
    for key in order:
        if any(word in text for word in KEYWORDS[key]):
            return PERSONAS[key]
    return PERSONAS[DEFAULT_KEY]


def resolve(requested: str | None, message: str) -> LumenPersona:
    """An explicit persona key (or client alias lua/elo/nuri/sena) wins; else auto-detect."""
    key = _ALIASES.get((requested or "").strip().lower(), (requested or "").strip().lower())
    return PERSONAS.get(key) or detect(message)


def legacy_name(lumen_name: str) -> str:
    """Map a Lumen persona name to Lua/Elro/Riri/Nana; unknown names become Nana (§6.2)."""
    return _LEGACY_BY_NAME.get(lumen_name, "Nana")


def build_prompt(persona: LumenPersona, message: str) -> str:
    """The persona prompt sent to Gemini: role, style and the user's message."""
    return (
        f"당신은 {persona.name}({persona.type}, 전문: {persona.specialty})입니다. "
        f"{persona.emoji} {persona.name}의 관점으로 간결하고 정확하게 답하세요.\n\n"
        f"질문: {message}\n\n응답:"
    )


def fallback_text(persona: LumenPersona) -> str:
    """What the gateway answers when inference failed (§6.4), so clients still get text."""
    return (
        f"{persona.emoji} {persona.name}: 죄송합니다. 연결에 문제가 있었습니다. 다시 시도해주세요."
    )

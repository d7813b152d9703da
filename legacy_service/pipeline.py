"""What `/chat` calls (ION_SPEC §4): convert -> route -> prompt -> model, with a safe fallback.

Only an empty input escapes as an error (ValueError -> 400); a failing model must not fail the
request, so anything after validation becomes the Nana fallback with confidence 0.0 (HTTP 200).
"""

from __future__ import annotations

from typing import Any

from common.logging import get_logger
from legacy_service.model import ModelClient
from legacy_service.personas import FALLBACK_PERSONA
from legacy_service.prompts import build_prompt
from legacy_service.resonance import Resonance, convert
from legacy_service.router import RoutingResult, parse_key, route

EMPTY_INPUT_MESSAGE = "사용자 입력이 비어있습니다"
FALLBACK_CONTENT = "죄송합니다. 요청을 처리하는 중 문제가 발생했습니다. 잠시 후 다시 시도해주세요."
FALLBACK_KEY = "error-fallback-statement"


def resonance_metadata(resonance: Resonance) -> dict[str, Any]:
    """`rhythm` and `tone` of a chat answer (the canary reports the same, so dashboards compare).

    `pace` is the converter's raw fast/medium/slow here, not the key's word (§1.5)."""
    rhythm, tone = resonance.rhythm, resonance.tone
    return {
        "rhythm": {
            "pace": rhythm.pace,
            "avg_length": rhythm.avg_sentence_length,
            "punctuation_density": rhythm.punctuation_density,
        },
        "tone": {"primary": tone.primary, "confidence": tone.confidence, "secondary": None},
    }


def core_metadata(resonance: Resonance, routing: RoutingResult) -> dict[str, Any]:
    return {
        **resonance_metadata(resonance),
        "routing": {
            "secondary_persona": routing.secondary_persona,
            "reasoning": routing.reasoning,
        },
    }


def fallback_response(user_input: str, error: BaseException) -> dict[str, Any]:
    return {
        "content": FALLBACK_CONTENT,
        "persona_used": FALLBACK_PERSONA,
        "resonance_key": FALLBACK_KEY,
        "confidence": 0.0,
        "metadata": {
            "error": str(error),
            "error_type": type(error).__name__,
            "context": {"user_input": user_input, "stage": "processing"},
        },
    }


class PersonaPipeline:
    """One pipeline per app; the model client is injected so tests can make it fail."""

    def __init__(self, model: ModelClient) -> None:
        self.model = model
        self.log = get_logger("legacy_service.pipeline")

    @property
    def ready(self) -> bool:
        return self.model is not None

    async def process(self, text: str) -> dict[str, Any]:
        if not text or not text.strip():
            raise ValueError(EMPTY_INPUT_MESSAGE)
        user_input = text.strip()
        try:
            return await self._answer(user_input)
        except Exception as exc:
            self.log.warning(
                "legacy.pipeline_fallback", error_type=type(exc).__name__, error=str(exc)
            )
            return fallback_response(user_input, exc)

    async def _answer(self, user_input: str) -> dict[str, Any]:
        resonance = convert(user_input)
        routing = route(resonance.key)
        prompt = build_prompt(
            routing.primary_persona, resonance.key, parse_key(resonance.key), user_input
        )
        content = await self.model.generate(prompt)
        return {
            "content": content,
            "persona_used": routing.primary_persona,
            "resonance_key": resonance.key,
            "confidence": routing.confidence,
            "metadata": core_metadata(resonance, routing),
        }

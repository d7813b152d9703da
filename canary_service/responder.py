"""Answering as a Lumen persona: prompt the model, or the offline mock, and never raise.

Like the Lumen Gateway (§6.4), an inference failure is an answer too: `success=False` with the
persona's apology text, so `/chat` stays HTTP 200 and the caller (or the rollout's success-rate
window) sees the degradation in the body rather than as a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canary_service.gemini import GeminiError, ModelClient
from canary_service.lumen import LumenPersona, build_prompt, fallback_text
from common.logging import get_logger

MOCK_SUFFIX = "(Mock response - Google AI not configured)"


def mock_text(persona: LumenPersona, message: str) -> str:
    """The original gateway's answer when no Google AI key is configured."""
    return f"{persona.emoji} {persona.name}: {message}에 대한 응답입니다. {MOCK_SUFFIX}"


@dataclass(frozen=True)
class LumenReply:
    persona: LumenPersona
    text: str
    success: bool
    sources: list[str] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None


class LumenResponder:
    """`model=None` means no API key: the deterministic offline mock answers."""

    def __init__(self, model: ModelClient | None, *, model_name: str = "offline-mock") -> None:
        self.model = model
        self.model_name = model_name if model is not None else "offline-mock"
        self.log = get_logger("canary_service.responder")

    @property
    def source(self) -> str:
        return "Google AI Studio" if self.model is not None else "mock"

    async def answer(self, persona: LumenPersona, message: str) -> LumenReply:
        if self.model is None:
            return LumenReply(persona, mock_text(persona, message), True, [self.source])
        try:
            text = await self.model.generate(build_prompt(persona, message))
        except Exception as exc:
            return self._fallback(persona, exc)
        return LumenReply(persona, text, True, [self.source])

    def _fallback(self, persona: LumenPersona, exc: Exception) -> LumenReply:
        reason = exc.reason if isinstance(exc, GeminiError) else "error"
        self.log.warning(
            "canary.model_fallback",
            reason=reason,
            error_type=type(exc).__name__,
            error=str(exc)[:300],
            persona=persona.key,
        )
        return LumenReply(
            persona,
            fallback_text(persona),
            False,
            ["fallback"],
            error=str(exc)[:300],
            error_type=type(exc).__name__,
        )

"""Request and response bodies of the legacy API (ION_SPEC §1.4, §1.5, §6.2).

Validation messages are the original Korean ones because clients and tests match on them;
extra fields are ignored (the original accepted `{"message", "user_id", "extra"}`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MESSAGE_MAX_LENGTH = 1000
USER_ID_MAX_LENGTH = 128
BLANK_MESSAGE = "메시지는 공백만으로 이루어질 수 없습니다"
BLANK_USER_ID = "user_id는 필수 항목입니다"


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "example": {
                "message": "이거 진짜 답답해요! 왜 안 되는 거죠?",
                "user_id": "test-user-123",
            }
        },
    )

    message: str = Field(..., min_length=1, max_length=MESSAGE_MAX_LENGTH)
    user_id: str = Field(..., min_length=1, max_length=USER_ID_MAX_LENGTH)

    @field_validator("message")
    @classmethod
    def _strip_message(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError(BLANK_MESSAGE)
        return stripped

    @field_validator("user_id")
    @classmethod
    def _strip_user_id(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError(BLANK_USER_ID)
        return stripped


class ChatResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "content": "🌊 답답한 마음 이해해요. 함께 차근차근 해결해봐요!",
                "persona_used": "Lua",
                "resonance_key": "frustrated-burst-expressive",
                "confidence": 0.9,
                "metadata": {},
            }
        }
    )

    content: str
    persona_used: str
    resonance_key: str
    confidence: float = Field(..., ge=0.0, le=1.0)
    metadata: dict[str, Any] = Field(default_factory=dict)


class RecommendContext(BaseModel):
    tone: str | None = None
    pace: str | None = None
    intent: str | None = None


class PersonalizedRecommendationRequest(BaseModel):
    """No length limits, as the original; `context` and most `options` are accepted, unused."""

    user_id: str
    query: str
    context: RecommendContext | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class RankedRecommendation(BaseModel):
    persona: str
    score: float
    reason: str | None = None


class RecommendationResponse(BaseModel):
    primary_persona: str
    confidence: float
    all_scores: dict[str, float]
    ranked_recommendations: list[RankedRecommendation]
    explanation: str
    metadata: dict[str, Any]

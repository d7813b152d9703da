"""Business and info endpoints of the canary: `/`, `/health`, `/chat`, `/chat/stream`, recommend.

Handlers are thin: validate (the legacy schemas, so both sides reject the same inputs the same
way), pick the Lumen persona, ask the responder, shape the answer with the pure builders.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from canary_service import lumen
from canary_service.chat import chat_response
from canary_service.recommend import recommendation
from canary_service.responder import LumenReply
from canary_service.streaming import MEDIA_TYPE, STREAM_HEADERS, sse_stream
from common.logging import get_logger
from legacy_service.routes import service_info
from legacy_service.schemas import ChatRequest, PersonalizedRecommendationRequest

log = get_logger("canary_service.routes")
router = APIRouter()


class CanaryChatRequest(ChatRequest):
    """The legacy contract plus Lumen's optional `persona` (moon/square/earth/pen, lua/elo...)."""

    persona: str | None = Field(None, max_length=32)


@router.get("/")
async def root(request: Request) -> dict[str, Any]:
    return {**service_info(request.app.state.settings.version), "deployment": "canary"}


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {
        "status": "healthy",
        "version": state.settings.version,
        "pipeline_ready": True,
        "deployment": "canary",
        "model": state.responder.model_name,
        "faults_active": state.faults.config.active,
    }


async def _answer(request: Request, persona: lumen.LumenPersona, text: str) -> LumenReply:
    reply = await request.app.state.responder.answer(persona, text)
    outcome = "success" if reply.success else "fallback"
    request.app.state.metrics.model_answers.labels(outcome).inc()
    return reply


@router.post("/chat")
async def chat(body: CanaryChatRequest, request: Request) -> dict[str, Any]:
    persona = lumen.resolve(body.persona, body.message)
    reply = await _answer(request, persona, body.message)
    log.info("canary.chat", user_id=body.user_id, persona=persona.key, success=reply.success)
    return chat_response(body.message, reply, request.app.state.responder.model_name)


@router.post("/chat/stream")
async def chat_stream(body: CanaryChatRequest, request: Request) -> StreamingResponse:
    settings = request.app.state.settings
    persona = lumen.resolve(body.persona, body.message)
    log.info("canary.chat_stream", user_id=body.user_id, persona=persona.key)
    events = sse_stream(
        persona,
        lambda: _answer(request, persona, body.message),
        chunk_chars=settings.stream_chunk_chars,
        delay_s=settings.stream_chunk_delay_ms / 1000,
    )
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=STREAM_HEADERS)


@router.post("/api/v2/recommend/personalized")
async def recommend(body: PersonalizedRecommendationRequest, request: Request) -> dict[str, Any]:
    started = time.perf_counter()
    persona = lumen.detect(body.query, lumen.CLIENT_ORDER)
    reply = await _answer(request, persona, body.query)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    log.info("canary.recommend", user_id=body.user_id, persona=persona.key, success=reply.success)
    return recommendation(reply, elapsed_ms)

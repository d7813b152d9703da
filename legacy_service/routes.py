"""The HTTP surface of the legacy ion-api (ION_SPEC §1.2-1.6, §6.2): thin handlers that call the
pipeline and the recommend answer and map their outcomes to the original statuses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from common.logging import get_logger
from legacy_service.errors import PIPELINE_ERROR_MESSAGE, ApiError
from legacy_service.pipeline import FALLBACK_KEY
from legacy_service.recommend import legacy_recommendation
from legacy_service.schemas import (
    ChatRequest,
    ChatResponse,
    PersonalizedRecommendationRequest,
    RecommendationResponse,
)

SERVICE_TITLE = "내다AI Ion API"
REDIS_CACHE_OFF = {"enabled": False, "connected": False}

log = get_logger("legacy_service.routes")
router = APIRouter()


def service_info(version: str) -> dict[str, Any]:
    """The `/` body of the original; the canary serves it too, plus its `deployment`."""
    return {
        "service": SERVICE_TITLE,
        "version": version,
        "status": "running",
        "docs": "/docs",
        "health": "/health",
    }


@router.get("/")
async def root(request: Request) -> dict[str, Any]:
    return service_info(request.app.state.settings.app_version)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """`healthy` once the lifespan has built the pipeline; there is no Redis cache here."""
    pipeline = getattr(request.app.state, "pipeline", None)
    ready = pipeline is not None and pipeline.ready
    return {
        "status": "healthy" if ready else "degraded",
        "version": request.app.state.settings.app_version,
        "pipeline_ready": ready,
        "redis_cache": dict(REDIS_CACHE_OFF),
    }


@router.post("/chat", response_model=ChatResponse)
async def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
    """Empty input is 400, a pipeline failure 500; a model failure is the 200 Nana fallback."""
    try:
        result = await request.app.state.pipeline.process(body.message)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    except Exception as exc:
        log.error("legacy.chat_failed", error_type=type(exc).__name__)
        raise ApiError(500, PIPELINE_ERROR_MESSAGE) from exc
    _count_chat(request, result)
    log.info(
        "legacy.chat",
        user_id=body.user_id,
        persona=result["persona_used"],
        resonance_key=result["resonance_key"],
        confidence=result["confidence"],
    )
    return result


def _count_chat(request: Request, result: dict[str, Any]) -> None:
    metrics = request.app.state.metrics
    metrics.personas.labels(result["persona_used"]).inc()
    if result["resonance_key"] == FALLBACK_KEY:
        metrics.fallbacks.inc()


@router.post("/api/v2/recommend/personalized", response_model=RecommendationResponse)
async def recommend_personalized(body: PersonalizedRecommendationRequest) -> dict[str, Any]:
    """The legacy never consults Lumen: the fixed `cf_40_cb_40_pa_20` answer (§6.2)."""
    log.info("legacy.recommend", user_id=body.user_id)
    return legacy_recommendation()

"""App factory of the legacy ion-api: settings in, a FastAPI app out, every seam injectable.

Middleware, outermost first (all plain ASGI so nothing buffers a streaming response):
observation (log + metrics) -> security headers -> CORS -> rate limit -> body limit -> error guard.
The rate limit runs before the body is read, so a flooding client costs little.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.cors import CORSMiddleware

from common.logging import get_logger
from common.security import SecurityHeadersMiddleware
from legacy_service.bodylimit import BodyLimitMiddleware
from legacy_service.errors import UnhandledErrorMiddleware, install_error_handlers
from legacy_service.model import FailingModelClient, MockModelClient, ModelClient
from legacy_service.observability import LegacyMetrics, RequestObservationMiddleware
from legacy_service.pipeline import PersonaPipeline
from legacy_service.ratelimit import RateLimiter, RateLimitMiddleware
from legacy_service.routes import SERVICE_TITLE, router
from legacy_service.settings import LegacySettings

log = get_logger("legacy_service.app")


def model_from_settings(settings: LegacySettings) -> ModelClient:
    """Mock unless asked otherwise. Vertex needs production and a project id (as the original)
    and has no client in this build yet, so it falls back to the mock and says so."""
    if settings.model_backend == "failing":
        return FailingModelClient()
    if settings.model_backend == "vertex":
        log.warning(
            "legacy.model_fallback_to_mock",
            reason="vertex client not implemented",
            production=settings.environment == "production",
            project_configured=bool(settings.vertex_project_id),
        )
    return MockModelClient()


def _lifespan(model: ModelClient | None, pipeline: PersonaPipeline | None):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = model or model_from_settings(app.state.settings)
        app.state.pipeline = pipeline or PersonaPipeline(client)
        log.info("legacy.started", environment=app.state.settings.environment)
        try:
            yield
        finally:
            closer = getattr(client, "aclose", None)
            if closer is not None:
                await closer()
            app.state.pipeline = None
            log.info("legacy.stopped")

    return lifespan


def create_app(
    settings: LegacySettings,
    *,
    registry: CollectorRegistry | None = None,
    model: ModelClient | None = None,
    clock: Callable[[], float] | None = None,
    pipeline: PersonaPipeline | None = None,
) -> FastAPI:
    app = FastAPI(
        title=SERVICE_TITLE, version=settings.app_version, lifespan=_lifespan(model, pipeline)
    )
    app.state.settings = settings
    app.state.pipeline = None
    app.state.metrics = LegacyMetrics(registry or CollectorRegistry())
    app.include_router(router)
    install_error_handlers(app)
    _add_middleware(app, settings, clock or time.monotonic)
    return app


def _add_middleware(app: FastAPI, settings: LegacySettings, clock: Callable[[], float]) -> None:
    networks = settings.trusted_networks
    metrics = app.state.metrics
    # FastAPI nests included routers; list both levels so every served path gets its own label.
    route_paths = frozenset(
        path for r in (*app.routes, *router.routes) if (path := getattr(r, "path", None))
    )
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        limiter=RateLimiter(settings.rate_rule, clock=clock),
        trusted_proxies=networks,
        on_reject=lambda ip, path: metrics.rate_limited.inc(),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization"],
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        RequestObservationMiddleware,
        metrics=metrics,
        known_paths=route_paths,
        trusted_proxies=networks,
    )

"""App factory of the legacy ion-api: settings in, a FastAPI app out, every seam injectable.

Error handlers, `/metrics` and the middleware stack are the shared assembly (`stack.py`), which
the canary reuses; this module adds the legacy routes, pipeline and metrics.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from common.logging import get_logger
from legacy_service.model import FailingModelClient, MockModelClient, ModelClient
from legacy_service.observability import LegacyMetrics
from legacy_service.pipeline import PersonaPipeline
from legacy_service.routes import SERVICE_TITLE, router
from legacy_service.settings import LegacySettings
from legacy_service.stack import METRICS_PATH, ServiceHooks, assemble

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
    app.state.registry = registry or CollectorRegistry()
    app.state.metrics = metrics = LegacyMetrics(app.state.registry)
    app.include_router(router)
    hooks = ServiceHooks(
        service="legacy",
        observe=metrics.observer(_served_paths(app) | {METRICS_PATH}),
        on_reject=metrics.count_rejection,
        clock=clock or time.monotonic,
    )
    assemble(app, settings, hooks)
    return app


def _served_paths(app: FastAPI) -> frozenset[str]:
    """FastAPI nests included routers; list both levels so every served path gets its own label."""
    return frozenset(
        path for r in (*app.routes, *router.routes) if (path := getattr(r, "path", None))
    )

"""`create_app(settings, ...)`: the canary's FastAPI app; its lifespan owns the Gemini client.

Every seam is an argument, so tests need no patching: `registry` (metrics), `model` (any
`ModelClient`; default: Gemini when `CANARY_GEMINI_API_KEY` is set, else the offline mock) and
`rng` (fault randomness; default seeded by `CANARY_FAULT_SEED`).

Error handlers, `/metrics` and the middleware stack are the legacy service's
(`legacy_service.stack`), with fault injection just outside the unhandled-error guard: refusals by
the service itself (413, 429) are logged and counted but never faulted.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from canary_service import admin, routes
from canary_service.faults import FaultConfig, FaultState
from canary_service.gemini import GeminiClient, ModelClient
from canary_service.metrics import CanaryMetrics
from canary_service.middleware import FaultInjectionMiddleware
from canary_service.responder import LumenResponder
from canary_service.settings import CanarySettings
from common.logging import get_logger
from legacy_service.ratelimit import DEFAULT_LIMITED_PATHS
from legacy_service.stack import ServiceHooks, assemble

RATE_LIMITED_PATHS = DEFAULT_LIMITED_PATHS | {"/chat/stream"}
log = get_logger("canary_service.app")


def fault_config(settings: CanarySettings) -> FaultConfig:
    return FaultConfig(
        error_rate=settings.fault_error_rate,
        latency_ms=settings.fault_latency_ms,
        jitter_ms=settings.fault_jitter_ms,
        invalid_response=settings.fault_invalid_response,
    )


def default_model(settings: CanarySettings) -> GeminiClient | None:
    if not settings.gemini_api_key:
        return None
    return GeminiClient(
        settings.gemini_api_key,
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        timeout_s=settings.gemini_timeout_seconds,
    )


def _lifespan(model: ModelClient | None):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("canary.started", model=app.state.responder.model_name)
        try:
            yield
        finally:
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
            log.info("canary.stopped")

    return lifespan


def create_app(
    settings: CanarySettings,
    *,
    registry: CollectorRegistry | None = None,
    model: ModelClient | None = None,
    rng: random.Random | None = None,
) -> FastAPI:
    model = model if model is not None else default_model(settings)
    model_name = settings.gemini_model if model is not None else "offline-mock"
    app = FastAPI(title="Lumen Gateway canary", version=settings.version, lifespan=_lifespan(model))
    app.state.settings = settings
    app.state.registry = registry if registry is not None else CollectorRegistry()
    app.state.metrics = CanaryMetrics(app.state.registry)
    app.state.responder = LumenResponder(model, model_name=model_name)
    app.state.faults = FaultState(fault_config(settings), rng or random.Random(settings.fault_seed))
    admin.install_admin_handlers(app)
    app.include_router(routes.router)
    app.include_router(admin.router)
    assemble(app, settings, _hooks(app.state.metrics, app.state.faults))
    return app


def _hooks(metrics: CanaryMetrics, faults: FaultState) -> ServiceHooks:
    return ServiceHooks(
        service="canary",
        observe=lambda path, method, status, seconds: metrics.observe_request(
            path, status, seconds
        ),
        on_reject=lambda reason, path: _rejected(metrics, reason, path),
        observe_at_start=True,
        limited_paths=RATE_LIMITED_PATHS,
        inner=((FaultInjectionMiddleware, {"state": faults, "metrics": metrics}),),
    )


def _rejected(metrics: CanaryMetrics, reason: str, path: str) -> None:
    metrics.rejected.labels(reason).inc()
    log.info("canary.request_rejected", reason=reason, path=path)

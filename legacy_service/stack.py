"""The app assembly the legacy service and the canary share (in the original the canary is the
same image with different behaviour): error handlers, `/metrics` and the middleware stack.

Middleware, outermost first (all plain ASGI so nothing buffers a streaming response):
observation (log + metrics) -> security headers -> CORS -> rate limit -> body limit -> `inner`
(the canary's fault injection) -> error guard -> routes. Observation is outermost so refusals
(413, 429) and errors are logged and counted with the status the client got; the rate limit runs
before the body is read, so a flooding client costs little.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from common.security import SecurityHeadersMiddleware
from legacy_service.bodylimit import BodyLimitMiddleware
from legacy_service.errors import UnhandledErrorMiddleware, install_error_handlers
from legacy_service.observability import Observer, RequestObservationMiddleware, metrics_endpoint
from legacy_service.ratelimit import DEFAULT_LIMITED_PATHS, RateLimiter, RateLimitMiddleware
from legacy_service.settings import ApiServiceSettings

METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class ServiceHooks:
    """What differs between the services inside the shared stack."""

    service: str  # log event prefix: `legacy.request`, `canary.unhandled_error`
    observe: Observer  # one metric sample per request
    on_reject: Callable[[str, str], None]  # (reason, path): `rate_limited` or `body_too_large`
    observe_at_start: bool = False
    limited_paths: Collection[str] = DEFAULT_LIMITED_PATHS
    inner: tuple[tuple[type, dict[str, Any]], ...] = ()  # (middleware, kwargs), outermost first
    clock: Callable[[], float] = time.monotonic


def assemble(app: FastAPI, settings: ApiServiceSettings, hooks: ServiceHooks) -> None:
    """Install the error handlers, `/metrics` (app.state.registry) and the middleware stack."""
    install_error_handlers(app, service=hooks.service)
    app.add_route(METRICS_PATH, metrics_endpoint, include_in_schema=False)
    _add_middleware(app, settings, hooks)


def _add_middleware(app: FastAPI, settings: ApiServiceSettings, hooks: ServiceHooks) -> None:
    """Added innermost first: Starlette wraps each new middleware around the previous ones."""
    networks = settings.trusted_networks
    app.add_middleware(UnhandledErrorMiddleware, service=hooks.service)
    for middleware, options in reversed(hooks.inner):
        app.add_middleware(middleware, **options)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        on_reject=lambda path: hooks.on_reject("body_too_large", path),
    )
    app.add_middleware(
        RateLimitMiddleware,
        limiter=RateLimiter(settings.rate_rule, clock=hooks.clock),
        trusted_proxies=networks,
        paths=hooks.limited_paths,
        on_reject=lambda ip, path: hooks.on_reject("rate_limited", path),
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
        service=hooks.service,
        observe=hooks.observe,
        trusted_proxies=networks,
        observe_at_start=hooks.observe_at_start,
    )

"""The gateway's app factory: own endpoints (`/healthz`, `/readyz`, `/metrics`, `/admin/...`) in a
small starlette app, everything else straight to the proxy (plain ASGI, no middleware stack).

The own app answers every miss as the gateway's JSON error: an unknown path 404 `not_found`, a
known path with the wrong method 405 `method_not_allowed` (with `Allow`). It never redirects: no
trailing-slash redirect, whose `Location` starlette builds from the client's own `Host` header.
Without a rollout extension there is no admin API, and everything under `/admin`, whatever the
method, is 404 `admin_disabled`, as the extension answers when no admin token is configured.

`create_app(settings, *, registry, client, rollout, logger, clock)`: every seam is an argument,
so tests build the real thing with real upstreams and no patching.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from common.asgi import Receive, Scope, Send
from common.logging import get_logger
from gateway.aggregate import Aggregator
from gateway.errors import GatewayError
from gateway.extension import RolloutExtension
from gateway.headers import request_id_from
from gateway.metrics import GatewayMetrics
from gateway.proxy import Proxy
from gateway.respond import send_json_error
from gateway.routing import CANARY, LEGACY
from gateway.runtime import Runtime
from gateway.settings import GatewaySettings
from gateway.state import RoutingState, StaticStateSource
from gateway.upstream import AiohttpUpstream, UpstreamClient

OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/admin"})


def is_own_path(path: str) -> bool:
    return path in OWN_PATHS or path.startswith("/admin/")


class GatewayApp:
    """Dispatch: gateway-owned paths and lifespan to starlette, the rest to the proxy."""

    def __init__(self, own: Starlette, proxy: Proxy, runtime: Runtime) -> None:
        self.own = own
        self.proxy = proxy
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_own_path(scope["path"]):
            await self.own(scope, receive, send)
            return
        try:
            await self.proxy(scope, receive, send)
        except Exception:
            self.runtime.logger.exception("gateway.internal_error", path=scope["path"])
            with contextlib.suppress(Exception):
                await send_json_error(send, 500, "internal_error", "internal gateway error", "-")


def create_app(
    settings: GatewaySettings,
    *,
    registry: CollectorRegistry | None = None,
    client: UpstreamClient | None = None,
    rollout: RolloutExtension | None = None,
    aggregator: Aggregator | None = None,
    logger: Any = None,
    clock: Callable[[], float] = time.time,
    access_stream: Any = None,
) -> GatewayApp:
    """`aggregator`: where the per-second aggregates go. The rollout extension drains them; with
    no extension and no aggregator given nothing would, so none are recorded (a static percent
    source would otherwise grow them without bound). Tests pass one to read what was counted.
    `access_stream`: where access lines go (stdout by default)."""
    registry = registry if registry is not None else CollectorRegistry()
    client = client or AiohttpUpstream(
        pool_size=settings.pool_size,
        connect_timeout_s=settings.connect_timeout_seconds,
        keepalive_s=settings.upstream_keepalive_seconds,
    )
    state = rollout or StaticStateSource(RoutingState(settings.canary_percent, settings.salt))
    runtime = Runtime(
        settings,
        client=client,
        state=state,
        metrics=GatewayMetrics(registry, lambda: state.current().percent),
        aggregator=aggregator if aggregator is not None or rollout is None else Aggregator(),
        logger=logger or get_logger("gateway"),
        clock=clock,
        access_stream=access_stream,
    )
    own = Starlette(
        routes=[*_own_routes(runtime, registry), *(rollout.routes if rollout else _admin_off())],
        exception_handlers={HTTPException: _http_error},
        lifespan=_lifespan(runtime, rollout),
    )
    own.router.redirect_slashes = False
    return GatewayApp(own, Proxy(runtime), runtime)


def _admin_off() -> list[BaseRoute]:
    return [Route("/admin", _AdminOff()), Route("/admin/{rest:path}", _AdminOff())]


class _AdminOff:
    """No rollout store, no admin API. Plain ASGI, so a `Route` passes it every method (a
    function endpoint would get GET only, and the rest a 405 that shows the route)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = dict(scope["headers"]).get(b"x-request-id")
        message = "admin API is off (no rollout store)"
        await send_json_error(send, 404, "admin_disabled", message, request_id_from(found))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _json_error(request, exc.status_code, code, exc.detail.lower(), exc.headers)


def _json_error(
    request: Request, status: int, code: str, message: str, headers: Any = None
) -> Response:
    raw = request.headers.get("x-request-id")
    request_id = request_id_from(raw.encode("latin-1") if raw is not None else None)
    body = {"error": message, "code": code, "request_id": request_id}
    headers = {**(headers or {}), "x-request-id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


def _lifespan(
    runtime: Runtime, rollout: RolloutExtension | None
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.client.open()
        if rollout is not None:
            assert runtime.aggregator is not None  # create_app gives a rollout one
            await rollout.start(runtime.aggregator)
        gc.collect()
        gc.freeze()  # start-up's objects (imports, settings, app) out of every later collection
        runtime.logger.info("gateway.started", percent=runtime.state.current().percent)
        try:
            yield
        finally:
            if rollout is not None:
                await rollout.stop()
            await runtime.client.close()
            if runtime.access is not None:
                runtime.access.close()  # every access line out before the process ends
            runtime.logger.info("gateway.stopped")

    return lifespan


def _own_routes(runtime: Runtime, registry: CollectorRegistry) -> list[Route]:
    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        checks = await _check_upstreams(runtime)
        checks["routing"] = runtime.state.readiness()
        ready = all(check["ok"] for check in checks.values())
        body = {"ready": ready, "percent": runtime.state.current().percent, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


async def _check_upstreams(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Reachable = answered HTTP below 500 (a rate-limited 429 still proves it is up)."""
    s = runtime.settings
    urls = {
        LEGACY: s.legacy_url + s.legacy_health_path,
        CANARY: s.canary_url + s.canary_health_path,
    }

    async def one(url: str) -> dict[str, Any]:
        try:
            status = await runtime.client.probe(url, s.readiness_timeout_seconds)
        except GatewayError as err:
            return {"ok": False, "url": url, "error": err.code}
        return {"ok": status < 500, "url": url, "status": status}

    results = await asyncio.gather(*(one(url) for url in urls.values()))
    return dict(zip(urls, results, strict=True))

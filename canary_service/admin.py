"""`GET/POST /admin/faults`: change fault injection at runtime, without a restart.

Guarded by `Authorization: Bearer <CANARY_ADMIN_TOKEN>` (constant-time compare). No token
configured means the endpoint does not exist (404, like any unknown path), so a forgotten demo
knob cannot be flipped in production. The POST body is the **whole** new config: omitted fields
return to off, `{}` clears every fault; `seed` (optional) reseeds the randomness for a
reproducible run. Changes apply to the next request and are logged as `canary.faults_changed`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from canary_service.faults import FaultConfig, FaultState
from common.logging import get_logger
from common.security import bearer_token_matches
from legacy_service.errors import api_error_body

log = get_logger("canary_service.admin")
UNAUTHORIZED_MESSAGE = "Unauthorized: missing or invalid bearer token"


class AdminUnauthorized(Exception):
    """Wrong or missing admin token; rendered as 401 JSON by `install_admin_handlers`."""


async def _on_unauthorized(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        api_error_body(401, UNAUTHORIZED_MESSAGE),
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def install_admin_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AdminUnauthorized, _on_unauthorized)


class FaultUpdate(FaultConfig):
    seed: int | None = Field(None, description="Reseed the fault randomness (reproducible runs).")

    def config(self) -> FaultConfig:
        return FaultConfig(**self.model_dump(exclude={"seed"}))


def require_admin(request: Request) -> None:
    """404 when the admin API is off, 401 on a missing or wrong token."""
    expected = request.app.state.settings.admin_token
    if not expected:
        raise HTTPException(status_code=404, detail="Not Found")
    if not bearer_token_matches(request.headers.get("authorization"), expected):
        log.warning("canary.admin_unauthorized", path=request.url.path)
        raise AdminUnauthorized()


def fault_view(state: FaultState) -> dict[str, Any]:
    return {
        "faults": state.config.model_dump(),
        "active": state.config.active,
        "requests_since_change": state.index,
    }


router = APIRouter(dependencies=[Depends(require_admin)])


@router.get("/admin/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return fault_view(request.app.state.faults)


@router.post("/admin/faults")
async def set_faults(update: FaultUpdate, request: Request) -> dict[str, Any]:
    state: FaultState = request.app.state.faults
    previous = state.replace(update.config(), seed=update.seed)
    log.info(
        "canary.faults_changed",
        previous=previous.model_dump(),
        current=state.config.model_dump(),
        seed=update.seed,
    )
    return fault_view(state)

"""The demo's operator hands: the gateway's rollout admin API and the canary's fault knob.

Thin async httpx calls, like `ion-rollout` but awaitable next to the traffic. Any refusal or
transport failure becomes a `DemoError` whose message says what to do about it (a 401 names the
token variable), so the demo stops with a sentence, not a traceback.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


class DemoError(RuntimeError):
    """The demo cannot go on; the message is for the person watching."""


class RolloutAdmin:
    """`/admin/rollout` on the gateway and `/admin/faults` on the canary."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        gateway_url: str,
        canary_url: str,
        gateway_token: str | None,
        canary_token: str | None,
    ) -> None:
        self._client = client
        self.gateway_url = gateway_url.rstrip("/")
        self.canary_url = canary_url.rstrip("/")
        self._gateway_auth = _bearer(gateway_token)
        self._canary_auth = _bearer(canary_token)

    async def status(self) -> dict[str, Any]:
        return await self._gateway("GET", "/admin/rollout")

    async def act(self, verb: str, **body: Any) -> dict[str, Any]:
        return await self._gateway("POST", f"/admin/rollout/{verb}", json=body)

    async def history(self, limit: int = 20) -> list[dict[str, Any]]:
        data = await self._gateway("GET", "/admin/rollout/history", params={"limit": limit})
        return data["history"]

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the canary's whole fault config (`{}` heals it)."""
        url = f"{self.canary_url}/admin/faults"
        return await self._call("POST", url, "CANARY_ADMIN_TOKEN", self._canary_auth, json=faults)

    async def routing(self) -> dict[str, Any]:
        """The gateway's own view (`/readyz` checks.routing): the percent it routes with now."""
        response = await self._client.get(f"{self.gateway_url}/readyz")
        return response.json()["checks"]["routing"]

    async def wait_applied(self, version: int, timeout_s: float, poll_s: float = 0.05) -> float:
        """Wait until the gateway routes with state `version`; returns when (wall clock)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if (await self.routing()).get("version", -1) >= version:
                    return time.time()
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise DemoError(f"the gateway did not apply rollout version {version} in time")
            await asyncio.sleep(poll_s)

    async def _gateway(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.gateway_url}{path}"
        return await self._call(method, url, "GATEWAY_ADMIN_TOKEN", self._gateway_auth, **kwargs)

    async def _call(
        self, method: str, url: str, token_var: str, auth: dict[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(method, url, headers=auth, **kwargs)
        except httpx.HTTPError as exc:
            raise DemoError(f"{method} {url} failed: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return response.json()
        raise DemoError(_refusal(method, url, response, token_var))


def _refusal(method: str, url: str, response: httpx.Response, token_var: str) -> str:
    message = f"{method} {url} answered {response.status_code}: {response.text[:300]}"
    if response.status_code in (401, 404):
        message += (
            f"\nhint: set {token_var} to the token the running service was started with "
            "(ion-run prints it), or let ion-demo start its own stack (--stack own)"
        )
    return message


def _bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}

"""`rollback-canary`: the original's normal rollback, done through the gateway.

The original removed the canary's traffic with `gcloud run services update --no-traffic` and
then deleted the service. Here the split lives in the gateway, so the rollback is a call to its
admin API (percent to 0, every gateway instance follows within a second); deleting the canary
service afterwards is optional.
"""

from __future__ import annotations

from typing import Any

import httpx

from deploy.cloudrun import DeployError


def _status(client: httpx.Client, base_url: str, token: str) -> dict[str, Any]:
    response = client.get(f"{base_url}/admin/rollout", headers=_auth(token))
    response.raise_for_status()
    return response.json()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refusal(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error") or body.get("detail") or body)


def rollback_gateway(
    client: httpx.Client, base_url: str, token: str, reason: str
) -> dict[str, Any]:
    """Set the gateway's canary percent to 0; returns the rollout status after it.

    A 409 from the gateway (nothing to roll back: idle or already rolled back) is fine when the
    percent is already 0, which is all this command promises.
    """
    base_url = base_url.rstrip("/")
    if not token:
        raise DeployError("DEPLOY_GATEWAY_ADMIN_TOKEN is not set: the gateway admin API needs it.")
    try:
        response = client.post(
            f"{base_url}/admin/rollout/rollback", json={"reason": reason}, headers=_auth(token)
        )
        if response.status_code == 409:
            status = _status(client, base_url, token)
            if status.get("percent") == 0:
                return status
        if response.status_code == 401:
            raise DeployError(f"the gateway at {base_url} rejected DEPLOY_GATEWAY_ADMIN_TOKEN.")
        if response.is_error:
            raise DeployError(
                f"rollback refused by the gateway ({response.status_code}): {_refusal(response)}"
            )
        return response.json()
    except httpx.HTTPError as exc:
        raise DeployError(f"could not reach the gateway admin API at {base_url}: {exc}") from exc

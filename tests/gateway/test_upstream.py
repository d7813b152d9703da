"""gateway/upstream.py: the one place client exceptions become GatewayErrors, and the client."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from gateway import errors
from gateway.routing import CANARY
from gateway.upstream import AiohttpUpstream, client_error, map_client_errors
from tests.support.servers import free_port


@pytest.mark.parametrize(
    ("exc", "expected", "status", "kind", "reached"),
    [
        (aiohttp.ConnectionTimeoutError(), errors.UpstreamConnectTimeout, 504, "connect_timeout",
         False),
        (ConnectionRefusedError(), errors.UpstreamUnreachable, 502, "connect", False),
        (aiohttp.ServerTimeoutError(), errors.UpstreamTimeout, 504, "timeout", True),
        (TimeoutError(), errors.UpstreamTimeout, 504, "timeout", True),
        (aiohttp.ServerDisconnectedError(), errors.UpstreamProtocol, 502, "protocol", True),
        (aiohttp.ClientPayloadError("truncated"), errors.UpstreamProtocol, 502, "protocol", True),
    ],
)  # fmt: skip
def test_each_client_exception_maps_to_its_gateway_error(exc, expected, status, kind, reached):
    with pytest.raises(expected) as caught, map_client_errors("canary"):
        raise exc
    err = caught.value
    assert (err.status, err.kind, err.reached_upstream) == (status, kind, reached)
    assert err.__cause__ is exc and "canary upstream" in err.message
    assert type(client_error(exc, "canary")) is expected


@pytest.mark.parametrize(
    "exc", [errors.UpstreamTimeout("already mapped"), asyncio.CancelledError(), GeneratorExit()]
)
def test_gateway_errors_and_cancellation_pass_through_untouched(exc):
    with pytest.raises(type(exc)) as caught, map_client_errors("legacy"):
        raise exc
    assert caught.value is exc


def test_nothing_raised_nothing_mapped():
    with map_client_errors("legacy"):
        pass


@pytest.mark.anyio
async def test_a_closed_port_is_unreachable_and_never_reached_the_upstream():
    client = AiohttpUpstream(pool_size=2, connect_timeout_s=2.0, keepalive_s=1.0)
    await client.open()
    try:
        with pytest.raises(errors.UpstreamUnreachable) as caught:
            await client.send(CANARY, "GET", f"http://127.0.0.1:{free_port()}/", [], None, 1.0)
    finally:
        await client.close()
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert caught.value.reached_upstream is False

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


@pytest.mark.anyio
async def test_a_dead_pooled_connection_is_retried_once_for_an_idempotent_request_only():
    """An upstream that hangs up on the second request of every connection (a keep-alive
    connection it closed while it sat in the pool): a GET goes again on a new connection, as
    aiohttp's session does; a POST is not resent (it may have been acted on)."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        heads = 0
        while heads < 2:
            line = await reader.readline()
            if not line:
                break
            if line == b"\r\n":  # end of a head (these requests have no body)
                heads += 1
                if heads == 1:
                    writer.write(answer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    client = AiohttpUpstream(pool_size=2, connect_timeout_s=2.0, keepalive_s=30.0)
    await client.open()
    try:
        statuses = []
        for _ in range(2):  # the second one meets the dead connection, then a fresh one
            response = await client.send(CANARY, "GET", url, [], None, 2.0)
            statuses.append(response.status)
            response.release()
        assert (statuses, connections) == ([200, 200], 2)
        with pytest.raises(errors.UpstreamProtocol):
            await client.send(CANARY, "POST", url, [], None, 2.0)
        assert connections == 2
    finally:
        await client.close()
        server.close()
        await server.wait_closed()

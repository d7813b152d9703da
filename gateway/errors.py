"""The one boundary where client-library exceptions become gateway errors.

    GatewayError               status  code
    ├── BodyTooLarge            413    body_too_large
    ├── UpstreamUnreachable     502    upstream_unreachable     (never reached the upstream)
    ├── UpstreamConnectTimeout  504    upstream_timeout         (connect deadline; never reached)
    ├── UpstreamTimeout         504    upstream_timeout         (read deadline)
    └── UpstreamProtocol        502    upstream_protocol_error  (broken or dropped response)

An upstream 5xx is not an exception: it streams through to the client and is counted.
`reached_upstream` tells the failover logic whether the request may have been seen upstream.
"""

from __future__ import annotations

import asyncio

import aiohttp


class GatewayError(Exception):
    status = 502
    code = "gateway_error"
    kind = "other"  # label for gateway_upstream_errors_total
    reached_upstream = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BodyTooLarge(GatewayError):
    status, code, kind = 413, "body_too_large", "body_too_large"


class UpstreamUnreachable(GatewayError):
    status, code, kind, reached_upstream = 502, "upstream_unreachable", "connect", False


class UpstreamConnectTimeout(GatewayError):
    status, code, kind, reached_upstream = 504, "upstream_timeout", "connect_timeout", False


class UpstreamTimeout(GatewayError):
    status, code, kind = 504, "upstream_timeout", "timeout"


class UpstreamProtocol(GatewayError):
    status, code, kind = 502, "upstream_protocol_error", "protocol"


def from_client_exception(exc: BaseException, target: str) -> GatewayError:
    """Map an aiohttp/asyncio exception raised while talking to `target`."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamConnectTimeout(f"timed out connecting to the {target} upstream")
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return UpstreamUnreachable(f"the {target} upstream is unreachable")
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"the {target} upstream did not answer in time")
    return UpstreamProtocol(f"the {target} upstream sent a broken response")

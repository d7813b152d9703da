"""The gateway's error taxonomy: every failure the proxy answers itself, with its status and code.

    GatewayError                status  code                     kind
    ├── BodyTooLarge             413    body_too_large           body_too_large
    ├── UpstreamUnreachable      502    upstream_unreachable     connect          (never reached)
    ├── UpstreamConnectTimeout   504    upstream_timeout         connect_timeout  (never reached)
    ├── UpstreamTimeout          504    upstream_timeout         timeout          (read deadline)
    └── UpstreamProtocol         502    upstream_protocol_error  protocol         (broken response)

An upstream 5xx is not an exception: it streams through to the client and is counted.
`reached_upstream` tells the failover logic whether the request may have been seen upstream;
`kind` labels `gateway_upstream_errors_total` and the access log's `error_kind`.

This module knows no client library: `gateway.upstream.map_client_errors` is the one place where
aiohttp and asyncio exceptions become these.
"""

from __future__ import annotations


class GatewayError(Exception):
    status = 502
    code = "gateway_error"
    kind = "other"
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

"""Header policy for the proxy (pure): what passes through, what the gateway adds.

Hop-by-hop headers (RFC 9110 §7.6.1) and any header named in `Connection` are dropped in both
directions; `Host` and `Content-Length` are set by the client library for the upstream request;
`X-Forwarded-For` gets the peer appended, `X-Forwarded-Proto/-Host` are set, and `X-Request-ID`
is kept when the client sent a sane one, otherwise generated.
"""

from __future__ import annotations

import random

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_SET_BY_CLIENT = frozenset({b"host", b"content-length"})
_REPLACED = frozenset({b"x-forwarded-proto", b"x-forwarded-host", b"x-request-id"})
REQUEST_ID_MAX = 200


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return frozenset(tokens)


def request_id_from(raw: bytes | None) -> str:
    """Keep the client's X-Request-ID when it is printable ASCII of sane length."""
    if raw and len(raw) <= REQUEST_ID_MAX and raw.isascii():
        text = raw.decode("ascii").strip()
        if text and text.isprintable():
            return text
    return f"{random.getrandbits(128):032x}"  # unique enough for tracing, 10x cheaper than uuid4


def upstream_request_headers(
    headers: list[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """Headers for the upstream request, as latin-1 strings (lossless for any header bytes)."""
    dropped = HOP_BY_HOP | _SET_BY_CLIENT | _REPLACED | _connection_tokens(headers)
    out: list[tuple[str, str]] = []
    forwarded_for = None
    host = None
    for name, value in headers:
        if name == b"host":
            host = value
        if name == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
            continue
        if name not in dropped:
            out.append((name.decode("latin-1"), value.decode("latin-1")))
    peer = (client_host or "").encode("latin-1")
    if forwarded_for and peer:
        forwarded_for = forwarded_for + b", " + peer
    elif peer:
        forwarded_for = peer
    if forwarded_for:
        out.append(("x-forwarded-for", forwarded_for.decode("latin-1")))
    out.append(("x-forwarded-proto", scheme))
    if host:
        out.append(("x-forwarded-host", host.decode("latin-1")))
    out.append(("x-request-id", request_id))
    return out


def client_response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Upstream response headers minus hop-by-hop ones (the ASGI server does its own framing)."""
    dropped = HOP_BY_HOP | _connection_tokens(raw)
    return [(name.lower(), value) for name, value in raw if name.lower() not in dropped]

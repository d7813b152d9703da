"""Header policy for the proxy (pure): what passes through, what the gateway adds.

Hop-by-hop headers (RFC 9110 §7.6.1) and any header named in `Connection` are dropped in both
directions; `Host` and `Content-Length` are set by the client library for the upstream request;
`X-Forwarded-For` gets the peer appended, `X-Forwarded-Proto/-Host` are set, and `X-Request-ID`
is kept when the client sent a sane one, otherwise generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

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


_DROPPED = HOP_BY_HOP | _SET_BY_CLIENT | _REPLACED


def _tokens(value: bytes) -> set[bytes]:
    return {t.strip().lower() for t in value.split(b",")}


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(_tokens(value))
    return frozenset(tokens)


def request_id_from(raw: bytes | None) -> str:
    """Keep the client's X-Request-ID when it is printable ASCII of sane length."""
    if raw and len(raw) <= REQUEST_ID_MAX and raw.isascii():
        text = raw.decode("ascii").strip()
        if text and text.isprintable():
            return text
    return f"{random.getrandbits(128):032x}"  # unique enough for tracing, 10x cheaper than uuid4


@dataclass(slots=True)
class ScannedRequest:
    """One pass over the request's headers: the values the proxy looks at (`found`) and the
    headers to forward, minus what the gateway sets itself (`forward`, latin-1 strings)."""

    found: dict[bytes, bytes]
    forward: list[tuple[str, str]]
    forwarded_for: bytes | None
    host: bytes | None

    def upstream_headers(
        self, *, client_host: str | None, scheme: str, request_id: str
    ) -> list[tuple[str, str]]:
        """`forward` plus X-Forwarded-For/-Proto/-Host and X-Request-ID (consumes `forward`)."""
        out, forwarded_for = self.forward, self.forwarded_for
        peer = (client_host or "").encode("latin-1")
        if forwarded_for and peer:
            forwarded_for = forwarded_for + b", " + peer
        elif peer:
            forwarded_for = peer
        if forwarded_for:
            out.append(("x-forwarded-for", forwarded_for.decode("latin-1")))
        out.append(("x-forwarded-proto", scheme))
        if self.host:
            out.append(("x-forwarded-host", self.host.decode("latin-1")))
        out.append(("x-request-id", request_id))
        return out


def scan_request(headers: list[tuple[bytes, bytes]], wanted: frozenset[bytes]) -> ScannedRequest:
    """The one pass per request (ASGI header names are lower case). Headers named in
    `Connection` are dropped after the pass: a request that has one is rare."""
    found: dict[bytes, bytes] = {}
    out: list[tuple[str, str]] = []
    forwarded_for = host = None
    tokens: set[bytes] | None = None
    for name, value in headers:
        if name in wanted:
            found[name] = value
        if name in _DROPPED:
            if name == b"host":
                host = value
            elif name == b"connection":
                tokens = _tokens(value) | (tokens or set())
        elif name == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
        else:
            out.append((name.decode("latin-1"), value.decode("latin-1")))
    if tokens:
        out = [(n, v) for n, v in out if n.encode("latin-1") not in tokens]
    return ScannedRequest(found, out, forwarded_for, host)


def upstream_request_headers(
    headers: list[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """Headers for the upstream request, as latin-1 strings (lossless for any header bytes)."""
    scanned = scan_request(headers, frozenset())
    return scanned.upstream_headers(client_host=client_host, scheme=scheme, request_id=request_id)


def client_response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Upstream response headers minus hop-by-hop ones (the ASGI server does its own framing)."""
    out: list[tuple[bytes, bytes]] = []
    connection = False
    for name, value in raw:
        lower = name.lower()
        if lower not in HOP_BY_HOP:
            out.append((lower, value))
        elif lower == b"connection":
            connection = True
    if connection:
        tokens = _connection_tokens(raw)
        out = [(name, value) for name, value in out if name not in tokens]
    return out

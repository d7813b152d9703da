"""Security headers (ION_SPEC §1.7) and bearer-token checks shared by every service."""

from __future__ import annotations

import hmac

from common.asgi import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"content-security-policy", b"default-src 'self'"),
)


class SecurityHeadersMiddleware:
    """Plain ASGI middleware adding the five security headers to every HTTP response.

    A plain ASGI class (not BaseHTTPMiddleware) so streaming responses stay streaming.
    """

    def __init__(
        self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS
    ) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def bearer_token_matches(authorization: str | None, expected: str | None) -> bool:
    """True iff `authorization` is `Bearer <expected>`; compared in constant time.

    `expected` None or empty means the protected endpoint is off: always False.
    """
    if not expected or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))

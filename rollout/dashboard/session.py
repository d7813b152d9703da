"""Signed, expiring dashboard sessions (pure: bytes and clocks in, sessions out).

A session is stateless: the cookie carries `{sid, role, iat, exp}` as base64url JSON and an
HMAC-SHA256 over it. Any gateway process with the same key accepts any process's cookie, so
several workers and instances need no shared session table. The key is derived from the admin
tokens (`derive_key`): every process derives the same one without extra setup, and rotating a
token ends every session, which is what rotating a token should do. `GATEWAY_SESSION_KEY`
replaces the derivation when sessions must outlive a token rotation.

The CSRF token is derived from the session id with the same key (`csrf_token`), so it is bound
to the session, needs no storage, and a token from one session is worthless in another.

Being stateless, a signed-out cookie stays valid until it expires if someone copied it
(the browser forgets it at sign-out); the TTL bounds that, and rotating a token ends it at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum

from rollout.roles import Role

COOKIE_NAME = "ion_admin_session"
COOKIE_PATH = "/admin"
SESSION_ID_BYTES = 16
SHOWN_ID_CHARS = 6
_KEY_LABEL = b"ion-canary dashboard session key v1"
_CSRF_LABEL = b"csrf:"
MAX_COOKIE_CHARS = 512  # anything longer is not ours: refused before decoding


def derive_key(operator_token: str, viewer_token: str | None, override: str | None = None) -> bytes:
    """The signing key: HMAC of a fixed label under the operator token (and the viewer's)."""
    if override:
        return hmac.new(override.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()
    secret = operator_token.encode("utf-8") + b"\0" + (viewer_token or "").encode("utf-8")
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    role: Role
    issued_at: int
    expires_at: int

    @property
    def shown_id(self) -> str:
        """What logs and history may show: `session-3f2a9c`, never the whole id."""
        return f"session-{self.sid[:SHOWN_ID_CHARS]}"

    @property
    def actor(self) -> str:
        """The history's `actor` for an action taken from the page: `operator:session-3f2a9c`."""
        return f"{self.role}:{self.shown_id}"


class Problem(StrEnum):
    """Why a cookie was not accepted; the values are the API's error codes."""

    MISSING = "no_session"
    INVALID = "invalid_session"
    EXPIRED = "session_expired"


@dataclass(frozen=True, slots=True)
class Decoded:
    session: Session | None
    problem: Problem | None = None


class SessionCodec:
    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        if len(key) < 16:
            raise ValueError("session key too short")
        self._key = key
        self.ttl_seconds = int(ttl_seconds)

    def issue(self, role: Role, now: float) -> Session:
        sid = secrets.token_hex(SESSION_ID_BYTES)
        return Session(sid, role, int(now), int(now) + self.ttl_seconds)

    def encode(self, session: Session) -> str:
        payload = {
            "sid": session.sid,
            "role": str(session.role),
            "iat": session.issued_at,
            "exp": session.expires_at,
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64(self._mac(body.encode()))}"

    def decode(self, raw: str | None, now: float) -> Decoded:
        if not raw:
            return Decoded(None, Problem.MISSING)
        session = self._verified(raw)
        if session is None:
            return Decoded(None, Problem.INVALID)
        if now >= session.expires_at:
            return Decoded(None, Problem.EXPIRED)
        return Decoded(session)

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._key, _CSRF_LABEL + session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, session: Session, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(presented.encode("utf-8"), self.csrf_token(session).encode())

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def _verified(self, raw: str) -> Session | None:
        """The session a well-formed, correctly signed cookie holds; None for anything else."""
        if len(raw) > MAX_COOKIE_CHARS or raw.count(".") != 1:
            return None
        body, _, mac = raw.partition(".")
        try:
            # Compare the canonical text, not decoded bytes: base64 without padding lets several
            # last characters decode to the same MAC, and a cookie has exactly one valid form.
            expected = _b64(self._mac(body.encode("ascii")))
            if not hmac.compare_digest(mac.encode("ascii"), expected.encode("ascii")):
                return None
            data = json.loads(_unb64(body))
            return Session(str(data["sid"]), Role(data["role"]), int(data["iat"]), int(data["exp"]))
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
            return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""rollout/dashboard/session.py: signed, expiring, tamper-evident cookies; CSRF bound to them."""

from __future__ import annotations

import base64
import json

import pytest

from rollout.dashboard.session import Problem, SessionCodec, derive_key
from rollout.roles import Role

OPERATOR, VIEWER = "operator-token-1", "viewer-token-22"


def codec(ttl: float = 3600, operator: str = OPERATOR, viewer: str | None = VIEWER) -> SessionCodec:
    return SessionCodec(derive_key(operator, viewer), ttl)


def test_a_cookie_round_trips_until_it_expires():
    c = codec(ttl=100)
    session = c.issue(Role.VIEWER, now=1000.0)
    raw = c.encode(session)
    assert c.decode(raw, 1099.9).session == session
    assert c.decode(raw, 1100.0).problem is Problem.EXPIRED
    assert c.decode(None, 1000).problem is Problem.MISSING


def test_every_process_derives_the_same_key_from_the_tokens():
    """Two gateway processes, nothing shared but their settings: each accepts the other's."""
    a, b = codec(), codec()
    raw = a.encode(a.issue(Role.OPERATOR, 1000))
    assert b.decode(raw, 1001).session is not None


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (codec(operator="rotated-token-9"), "operator token rotated: every session ends"),
        (codec(viewer="rotated-viewer-9"), "viewer token rotated: every session ends"),
        (codec(viewer=None), "viewer removed"),
        (SessionCodec(derive_key(OPERATOR, VIEWER, "k" * 32), 3600), "explicit key replaces it"),
    ],
)
def test_another_key_refuses_the_cookie(other, why):
    raw = codec().encode(codec().issue(Role.OPERATOR, 1000))
    assert other.decode(raw, 1001).problem is Problem.INVALID, why


def test_an_explicit_key_survives_token_rotation():
    before = SessionCodec(derive_key(OPERATOR, VIEWER, "k" * 32), 3600)
    after = SessionCodec(derive_key("new-operator-1", None, "k" * 32), 3600)
    assert after.decode(before.encode(before.issue(Role.VIEWER, 0)), 1).session is not None


def _forge(raw: str, **changes: object) -> str:
    body, _, mac = raw.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: _forge(raw, role="operator"),  # a viewer promoting itself
        lambda raw: _forge(raw, exp=10**12),  # extending its life
        lambda raw: raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"),  # another MAC
        lambda raw: raw.replace(".", ""),
        lambda raw: raw + ".x",
        lambda raw: "not base64!.%%%",
        lambda raw: "x" * 4000,
    ],
)
def test_tampered_cookies_are_invalid(tamper):
    c = codec()
    raw = c.encode(c.issue(Role.VIEWER, 1000))
    assert c.decode(tamper(raw), 1001).problem is Problem.INVALID


def test_csrf_token_is_bound_to_its_session():
    c = codec()
    one, two = c.issue(Role.OPERATOR, 0), c.issue(Role.OPERATOR, 0)
    assert c.csrf_matches(one, c.csrf_token(one))
    assert not c.csrf_matches(one, c.csrf_token(two))
    assert not c.csrf_matches(one, None) and not c.csrf_matches(one, "")


def test_what_may_be_shown_of_a_session():
    session = codec().issue(Role.OPERATOR, 0)
    assert session.shown_id == f"session-{session.sid[:6]}"
    assert session.actor == f"operator:session-{session.sid[:6]}"
    assert len(session.sid) == 32  # 128 random bits; only 24 of them are ever shown


def test_a_mac_that_differs_only_in_base64_padding_bits_is_refused():
    """43 base64 characters carry 258 bits for a 256-bit MAC: the last character's two spare
    bits must not give a second accepted spelling of the same cookie."""
    codec = SessionCodec(b"k" * 32, ttl_seconds=60)
    raw = codec.encode(codec.issue(Role.VIEWER, now=0.0))
    body, _, mac = raw.partition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(mac[-1])
    twin = alphabet[value ^ 1]  # flips a padding bit only (43 * 6 - 256 = 2 spare bits)
    assert codec.decode(raw, now=1.0).session is not None
    assert codec.decode(f"{body}.{mac[:-1]}{twin}", now=1.0).session is None

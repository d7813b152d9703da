"""gateway/settings.py: the admin roles' settings (the rest is covered where it is used)."""

from __future__ import annotations

import pytest

from common.settings import SettingsError, load_settings
from gateway.settings import GatewaySettings

OPERATOR, VIEWER = "operator-token-1", "viewer-token-22"


def test_roles_and_sessions_defaults():
    s = load_settings(GatewaySettings)
    assert (s.admin_token, s.viewer_token, s.session_key) == (None, None, None)
    assert s.session_ttl_seconds == 8 * 3600


def test_a_viewer_token_beside_the_admin_token():
    s = load_settings(GatewaySettings, admin_token=OPERATOR, viewer_token=f" {VIEWER} ")
    assert s.viewer_token == VIEWER


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"admin_token": OPERATOR, "viewer_token": OPERATOR}, "must differ"),
        ({"admin_token": OPERATOR, "viewer_token": f"  {OPERATOR}"}, "must differ"),
        ({"viewer_token": VIEWER}, "GATEWAY_ADMIN_TOKEN is not"),
        ({"admin_token": OPERATOR, "viewer_token": "short"}, "GATEWAY_VIEWER_TOKEN"),
        ({"admin_token": OPERATOR, "session_key": "too-short"}, "GATEWAY_SESSION_KEY"),
        ({"session_ttl_seconds": 10}, "GATEWAY_SESSION_TTL_SECONDS"),
    ],
)
def test_refused_at_start_up(overrides, message):
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings(GatewaySettings, **overrides)
    if "must differ" in message or "is not" in message:  # the model check echoes no value
        assert OPERATOR not in str(refused.value) and VIEWER not in str(refused.value)


def test_the_env_names(monkeypatch):
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", OPERATOR)
    monkeypatch.setenv("GATEWAY_VIEWER_TOKEN", VIEWER)
    monkeypatch.setenv("GATEWAY_SESSION_TTL_SECONDS", "3600")
    monkeypatch.setenv("GATEWAY_SESSION_KEY", "k" * 40)
    s = load_settings(GatewaySettings)
    assert (s.viewer_token, s.session_ttl_seconds, s.session_key) == (VIEWER, 3600, "k" * 40)

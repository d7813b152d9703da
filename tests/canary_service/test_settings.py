"""Settings validation: a bad value names the CANARY_* variable."""

from __future__ import annotations

import pytest

from canary_service.settings import CanarySettings
from common.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("CANARY_FAULT_ERROR_RATE", "1.5", "less than or equal to 1"),
        ("CANARY_FAULT_ERROR_RATE", "-0.1", "greater than or equal to 0"),
        ("CANARY_FAULT_LATENCY_MS", "-5", "greater than or equal to 0"),
        ("CANARY_FAULT_JITTER_MS", "abc", "valid integer"),
        ("CANARY_FAULT_INVALID_RESPONSE", "maybe", "valid boolean"),
        ("CANARY_PORT", "70000", "less than or equal to 65535"),
        ("CANARY_RATE_LIMIT", "lots", "30/minute"),
        ("CANARY_LOG_LEVEL", "LOUD", "DEBUG"),
        ("CANARY_GEMINI_BASE_URL", "ftp://x", "http"),
        ("CANARY_GEMINI_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("CANARY_MAX_BODY_BYTES", "0", "greater than 0"),
        ("CANARY_TRUSTED_PROXIES", "not-an-ip", "does not appear to be an IPv4 or IPv6"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings(CanarySettings)
    assert env in str(info.value)
    assert fragment in str(info.value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(CanarySettings)
    assert (settings.host, settings.port, settings.rate_limit) == ("127.0.0.1", 8082, "30/minute")
    assert settings.admin_token is None and settings.gemini_api_key is None
    assert settings.fault_error_rate == 0.0 and settings.fault_seed is None


def test_env_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_FAULT_ERROR_RATE", "0.05")
    monkeypatch.setenv("CANARY_FAULT_SEED", "7")
    monkeypatch.setenv("CANARY_ADMIN_TOKEN", "  ")
    monkeypatch.setenv("CANARY_TRUSTED_PROXIES", '["10.0.0.1"]')
    settings = load_settings(CanarySettings)
    assert settings.fault_error_rate == 0.05 and settings.fault_seed == 7
    assert settings.admin_token is None, "a blank token means the admin API is off"
    assert settings.trusted_proxies == ("10.0.0.1",)


def test_lists_accept_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    monkeypatch.setenv("CANARY_CORS_ORIGINS", "https://a.example,https://b.example")
    settings = load_settings(CanarySettings)
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_the_old_gemini_timeout_name_still_works_and_warns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CANARY_GEMINI_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setenv("CANARY_GEMINI_TIMEOUT_S", "2.5")
    assert load_settings(CanarySettings).gemini_timeout_seconds == 2.5
    err = capsys.readouterr().err
    assert "CANARY_GEMINI_TIMEOUT_S is deprecated" in err and "CANARY_GEMINI_TIMEOUT_SECONDS" in err

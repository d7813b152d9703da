"""LegacySettings: defaults, normalisation and errors that name the environment variable."""

from __future__ import annotations

import pytest

from common.settings import SettingsError, load_settings
from legacy_service.settings import LegacySettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (
        "LEGACY_RATE_LIMIT",
        "LEGACY_PORT",
        "LEGACY_ENVIRONMENT",
        "LEGACY_TRUSTED_PROXIES",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults():
    settings = load_settings(LegacySettings)
    assert (settings.host, settings.port, settings.rate_limit) == ("127.0.0.1", 8081, "30/minute")
    assert settings.trusted_proxies == ("127.0.0.1", "::1")
    assert settings.cors_origins == ("*",)
    assert (settings.app_version, settings.environment, settings.model_backend) == (
        "1.0.0",
        "development",
        "mock",
    )


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("LEGACY_RATE_LIMIT", "thirty", "LEGACY_RATE_LIMIT"),
        ("LEGACY_RATE_LIMIT", "30/day", "LEGACY_RATE_LIMIT"),
        ("LEGACY_PORT", "http", "LEGACY_PORT"),
        ("LEGACY_PORT", "70000", "LEGACY_PORT"),
        ("LEGACY_TRUSTED_PROXIES", "10.0.0.0/8,banana", "LEGACY_TRUSTED_PROXIES"),
        ("LEGACY_LOG_LEVEL", "loud", "LEGACY_LOG_LEVEL"),
        ("LEGACY_MAX_BODY_BYTES", "0", "LEGACY_MAX_BODY_BYTES"),
        ("LEGACY_MODEL_BACKEND", "gpt", "LEGACY_MODEL_BACKEND"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=needle):
        load_settings(LegacySettings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("production", "production"),
        ("STAGING", "staging"),
        ("prod", "development"),
        ("", "development"),
    ],
)
def test_environment_normalised_like_the_original(monkeypatch, raw, expected):
    monkeypatch.setenv("LEGACY_ENVIRONMENT", raw)
    assert load_settings(LegacySettings).environment == expected


def test_test_environment_relaxes_the_default_limit_only(monkeypatch):
    monkeypatch.setenv("LEGACY_ENVIRONMENT", "test")
    assert load_settings(LegacySettings).rate_limit == "1000/second"
    monkeypatch.setenv("LEGACY_RATE_LIMIT", "5/minute")
    assert load_settings(LegacySettings).rate_limit == "5/minute"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.0.0.0/8, ::1", ("10.0.0.0/8", "::1")),
        ('["192.168.0.1"]', ("192.168.0.1",)),
    ],
)
def test_lists_accept_comma_or_json(monkeypatch, raw, expected):
    monkeypatch.setenv("LEGACY_TRUSTED_PROXIES", raw)
    assert load_settings(LegacySettings).trusted_proxies == expected

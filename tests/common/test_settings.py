"""common/settings.py: errors that name the variable, secrets never shown, renamed variables.

The secret checks run over every settings class of every service, so a new token field that
forgets its `Secret[...]` marker fails here, not in a log line in production.
"""

from __future__ import annotations

import os
import re
import traceback
from typing import ClassVar

import pytest
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from canary_service.settings import CanarySettings
from common.settings import (
    DeprecatedSettingWarning,
    Secret,
    ServiceSettings,
    SettingsError,
    env_name,
    load_settings,
    redact_url,
    secret_fields,
)
from deploy.local.run import LocalRunSettings
from deploy.settings import DeploySettings
from gateway.settings import GatewaySettings
from legacy_service.settings import LegacySettings
from loadtest.demo.cli import DemoSettings
from rollout.cli import CliSettings
from rollout.settings import RolloutSettings

SENTINEL = "Zq9-s3cr3t-Zq9"

SERVICE_SETTINGS: tuple[type[BaseSettings], ...] = (
    GatewaySettings, RolloutSettings, LegacySettings, CanarySettings, DeploySettings,
    LocalRunSettings, CliSettings, DemoSettings,
)  # fmt: skip

# Names that hold a credential, or a URL or environment map that may carry one. DEPLOY_*_SECRET
# fields are Secret Manager *names*, not values, and stay visible.
SECRET_NAME = re.compile(r"(token|api_key|password|webhook_url|store_url|_env)$")

EXPECTED_SECRETS = {
    GatewaySettings: ["admin_token"],
    RolloutSettings: ["store_url", "webhook_url"],
    LegacySettings: [],
    CanarySettings: ["admin_token", "gemini_api_key"],
    DeploySettings: ["gateway_env", "legacy_env", "canary_env", "gateway_admin_token"],
    LocalRunSettings: [],
    CliSettings: ["admin_token"],
    DemoSettings: ["gateway_admin_token", "canary_admin_token"],
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    prefixes = ("GATEWAY_", "ROLLOUT_", "LEGACY_", "CANARY_", "DEPLOY_", "ION_RUN_", "TOY_")
    for name in list(os.environ):
        if name.startswith(prefixes):
            monkeypatch.delenv(name)


def all_settings_classes() -> set[type[BaseSettings]]:
    def below(cls: type[BaseSettings]) -> set[type[BaseSettings]]:
        found = {cls}
        for sub in cls.__subclasses__():
            found |= below(sub)
        return found

    return {c for c in below(ServiceSettings) if not c.__module__.startswith(("tests.", "common."))}


def test_every_settings_class_is_checked_here():
    """A new service's settings class must be added to SERVICE_SETTINGS (and so checked)."""
    known = set(SERVICE_SETTINGS) | {LegacySettings.__mro__[1]}  # ApiServiceSettings: a base
    assert all_settings_classes() <= known


@pytest.mark.parametrize("cls", SERVICE_SETTINGS, ids=lambda c: c.__name__)
def test_every_field_named_like_a_secret_is_marked_secret(cls):
    named = [name for name in cls.model_fields if SECRET_NAME.search(name)]
    assert sorted(secret_fields(cls)) == sorted(named) == sorted(EXPECTED_SECRETS[cls])


@pytest.mark.parametrize(
    ("cls", "field"),
    [(cls, field) for cls in SERVICE_SETTINGS for field in EXPECTED_SECRETS[cls]],
    ids=lambda v: v.__name__ if isinstance(v, type) else v,
)
def test_no_secret_field_shows_its_value_in_an_error(cls, field):
    """A value of the wrong type is an error for every field; it must name the variable only."""
    with pytest.raises(SettingsError) as info:
        load_settings(cls, **{field: {"key": [SENTINEL]}})
    assert env_name(cls, field) in str(info.value)
    assert "got a secret of" in str(info.value)
    assert_not_leaked(info)


@pytest.mark.parametrize(
    ("cls", "env", "value", "why"),
    [
        (GatewaySettings, "GATEWAY_ADMIN_TOKEN", "t2", "too short: the issue's own example"),
        (RolloutSettings, "ROLLOUT_STORE_URL", f"redis//:{SENTINEL}@host", "no scheme://"),
        (RolloutSettings, "ROLLOUT_STORE_URL", f"{SENTINEL}://h", "the 'scheme' is the secret"),
        (RolloutSettings, "ROLLOUT_STORE_URL", f"sqlite://:{SENTINEL}@x", "sqlite with a host"),
        (DeploySettings, "DEPLOY_GATEWAY_ENV", f'{{"ROLLOUT_WEBHOOK_URL": ["{SENTINEL}"]}}',
         "one value of the map is not a string"),
    ],
)  # fmt: skip
def test_a_bad_secret_variable_is_named_and_not_shown(monkeypatch, cls, env, value, why):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings(cls)
    assert env in str(info.value), why
    if SENTINEL in value:
        assert_not_leaked(info)
    else:
        assert repr(value) not in str(info.value) and f"{len(value)} chars" in str(info.value)


def assert_not_leaked(info: pytest.ExceptionInfo[SettingsError]) -> None:
    """Not in the message, nor in the traceback a crash would print (pydantic's own error text
    says `input_value=...`, so it must not even be chained)."""
    shown = "".join(traceback.format_exception(info.value))
    assert SENTINEL not in shown
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_secret_fields_are_left_out_of_repr():
    settings = CanarySettings(admin_token=SENTINEL, gemini_api_key=SENTINEL)
    assert SENTINEL not in repr(settings) and SENTINEL not in str(settings)
    assert settings.admin_token == SENTINEL  # read as a plain string


class Toy(ServiceSettings):
    """A settings class of the shape every service uses, to test the machinery alone."""

    model_config = SettingsConfigDict(env_prefix="TOY_")

    password: Secret[str] = "default-password"
    wait_seconds: float = Field(1.0, gt=0)
    mode: str = "a"
    token: Secret[str | None] = Field(None, validation_alias="OTHER_TOKEN")

    renamed: ClassVar[dict[str, str]] = {"wait_s": "wait_seconds"}

    @field_validator("password")
    @classmethod
    def _careless(cls, value: str) -> str:
        if value.startswith("bad"):
            raise ValueError(f"{value!r} is not allowed")  # quotes the secret: must be caught
        return value

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("a", "b"):
            raise ValueError("mode must be a or b")
        return value


def test_an_ordinary_bad_value_is_shown_with_its_variable(monkeypatch):
    monkeypatch.setenv("TOY_MODE", "c")
    with pytest.raises(
        SettingsError, match=r"TOY_MODE: Value error, mode must be a or b \(got 'c'\)"
    ):
        load_settings(Toy)


def test_a_validator_that_quotes_a_secret_is_scrubbed(monkeypatch):
    monkeypatch.setenv("TOY_PASSWORD", f"bad{SENTINEL}")
    with pytest.raises(SettingsError) as info:
        load_settings(Toy)
    assert "TOY_PASSWORD: Value error, '***' is not allowed" in str(info.value)
    assert f"got a secret of {len(SENTINEL) + 3} chars" in str(info.value)
    assert_not_leaked(info)


def test_an_aliased_field_is_named_by_its_alias():
    with pytest.raises(SettingsError, match="OTHER_TOKEN: ") as info:
        load_settings(Toy, OTHER_TOKEN=["x", SENTINEL])
    assert_not_leaked(info)
    assert env_name(Toy, "token") == "OTHER_TOKEN" and env_name(Toy, "mode") == "TOY_MODE"


def test_an_old_variable_still_works_and_warns_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv("TOY_WAIT_S", "2.5")
    assert load_settings(Toy).wait_seconds == 2.5
    err = capsys.readouterr().err
    assert err == (
        "warning: TOY_WAIT_S is deprecated and goes away in the next release; "
        "set TOY_WAIT_SECONDS instead\n"
    )


def test_constructing_directly_warns_with_a_future_warning(monkeypatch):
    monkeypatch.setenv("TOY_WAIT_S", "3")
    with pytest.warns(DeprecatedSettingWarning, match="TOY_WAIT_S is deprecated.*TOY_WAIT_SECONDS"):
        assert Toy().wait_seconds == 3
    assert issubclass(DeprecatedSettingWarning, FutureWarning)  # shown to users by default


def test_an_old_keyword_still_works_and_warns():
    with pytest.warns(DeprecatedSettingWarning, match="TOY_WAIT_S"):
        assert Toy(wait_s=4).wait_seconds == 4


def test_the_old_value_is_validated_like_the_new_one(monkeypatch, capsys):
    monkeypatch.setenv("TOY_WAIT_S", "-1")
    with pytest.raises(SettingsError, match="TOY_WAIT_SECONDS: Input should be greater than 0"):
        load_settings(Toy)
    assert "TOY_WAIT_S is deprecated" in capsys.readouterr().err


def test_old_and_new_with_the_same_value_are_fine(monkeypatch, capsys):
    monkeypatch.setenv("TOY_WAIT_S", "5")
    monkeypatch.setenv("TOY_WAIT_SECONDS", "5")
    assert load_settings(Toy).wait_seconds == 5
    assert "TOY_WAIT_S is deprecated" in capsys.readouterr().err


def test_old_and_new_with_different_values_are_refused_naming_both(monkeypatch):
    monkeypatch.setenv("TOY_WAIT_S", "5")
    monkeypatch.setenv("TOY_WAIT_SECONDS", "6")
    with pytest.raises(SettingsError) as info:
        load_settings(Toy)
    assert "TOY_WAIT_S (deprecated) and TOY_WAIT_SECONDS are both set, to different values" in (
        str(info.value)
    )
    assert "unset TOY_WAIT_S" in str(info.value)


def test_an_explicit_keyword_beats_an_old_variable(monkeypatch, capsys):
    monkeypatch.setenv("TOY_WAIT_S", "5")
    assert load_settings(Toy, wait_seconds=7).wait_seconds == 7
    assert "TOY_WAIT_S is deprecated" in capsys.readouterr().err


def test_no_old_variable_no_warning(capsys):
    assert load_settings(Toy).wait_seconds == 1.0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host/0", "redis://user:***@host/0"),
        ("redis://host/0", "redis://host/0"),
        ("sqlite:///.run/rollout.db", "sqlite:///.run/rollout.db"),
        ("http://[broken", "***"),
    ],
)
def test_redact_url_hides_the_password_only(url, shown):
    assert redact_url(url) == shown

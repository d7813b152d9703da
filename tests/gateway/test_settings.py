"""gateway/settings.py: where the percent comes from, the renamed `_S` variables, per-target reads.

`python -m gateway` itself (exit code 2, stderr) is covered in test_main.py.
"""

from __future__ import annotations

import os

import pytest

from common.settings import SettingsError, load_settings
from gateway.settings import GatewaySettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "ROLLOUT_")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"GATEWAY_CANARY_PERCENT": "5"}, "the default source (store) would ignore the percent"),
        ({"GATEWAY_CANARY_PERCENT": "0"}, "ignored too, even when it happens to match"),
        ({"GATEWAY_CANARY_PERCENT": "5", "GATEWAY_PERCENT_SOURCE": "store"}, "a contradiction"),
    ],
)
def test_a_percent_the_store_would_ignore_is_refused_naming_what_to_change(monkeypatch, env, why):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(GatewaySettings)
    message = str(info.value)
    assert "GATEWAY_CANARY_PERCENT is only used with GATEWAY_PERCENT_SOURCE=static" in message, why
    assert (
        "set GATEWAY_PERCENT_SOURCE=static" in message and "unset GATEWAY_CANARY_PERCENT" in message
    )


@pytest.mark.parametrize(
    ("env", "source", "percent"),
    [
        ({}, "store", 0),
        ({"GATEWAY_PERCENT_SOURCE": "static", "GATEWAY_CANARY_PERCENT": "5"}, "static", 5),
        ({"GATEWAY_PERCENT_SOURCE": "static"}, "static", 0),
        ({"GATEWAY_PERCENT_SOURCE": "store"}, "store", 0),
    ],
)
def test_consistent_percent_settings_load(monkeypatch, env, source, percent):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(GatewaySettings)
    assert (settings.percent_source, settings.canary_percent) == (source, percent)


def test_the_rule_holds_for_keyword_arguments_too():
    with pytest.raises(SettingsError, match="GATEWAY_PERCENT_SOURCE=static"):
        load_settings(GatewaySettings, canary_percent=5)
    assert GatewaySettings(percent_source="static", canary_percent=5).canary_percent == 5


@pytest.mark.parametrize(("old", "new"), sorted(GatewaySettings.renamed.items()))
def test_every_renamed_variable_still_works_under_its_old_name(monkeypatch, capsys, old, new):
    monkeypatch.setenv(f"GATEWAY_{old.upper()}", "3.5")
    settings = load_settings(GatewaySettings)
    assert getattr(settings, new) == 3.5
    err = capsys.readouterr().err
    assert f"GATEWAY_{old.upper()} is deprecated" in err and f"set GATEWAY_{new.upper()}" in err


def test_renamed_fields_end_in_seconds():
    assert all(new.endswith("_seconds") for new in GatewaySettings.renamed.values())
    assert not [name for name in GatewaySettings.model_fields if name.endswith("_s")]


@pytest.mark.parametrize(
    ("env", "legacy", "canary"),
    [
        ({}, 60.0, 60.0),
        ({"GATEWAY_READ_TIMEOUT_SECONDS": "9"}, 9.0, 9.0),
        ({"GATEWAY_CANARY_READ_TIMEOUT_SECONDS": "2"}, 60.0, 2.0),
        ({"GATEWAY_LEGACY_READ_TIMEOUT_SECONDS": "30", "GATEWAY_READ_TIMEOUT_SECONDS": "5"}, 30, 5),
    ],
)
def test_read_timeout_per_target_falls_back_to_the_shared_one(monkeypatch, env, legacy, canary):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(GatewaySettings)
    assert (settings.read_timeout_for("legacy"), settings.read_timeout_for("canary")) == (
        legacy,
        canary,
    )

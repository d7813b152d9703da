"""gateway/settings.py: the renamed `_S` variables and per-target reads."""

from __future__ import annotations

import os

import pytest

from common.settings import load_settings
from gateway.settings import GatewaySettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "ROLLOUT_")):
            monkeypatch.delenv(name)


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

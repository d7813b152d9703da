"""rollout/settings.py: defaults, demo profile, validation naming the variable."""

from __future__ import annotations

import os

import pytest

from common.settings import SettingsError, load_settings
from rollout.settings import RolloutSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("ROLLOUT_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_runbook():
    s = load_settings(RolloutSettings)
    assert s.stages == [5, 10, 25, 50, 100]
    assert s.soak_seconds == [86400, 86400, 172800, 259200]
    assert (s.breach_error_rate, s.error_window_seconds) == (0.05, 300)
    assert (s.breach_p95_ms, s.p95_window_seconds) == (20_000, 600)
    assert (s.breach_success_rate, s.success_window_seconds) == (0.90, 300)
    assert (s.alpha, s.tolerance, s.slow_ms, s.settle_seconds) == (0.001, 1.5, None, 1.5)
    assert s.breach_action == "rollback" and s.auto_advance is False
    assert s.shared_breach_action == "pause"
    assert s.poll_interval_seconds <= 0.5
    assert s.sqlite_path == "ion-rollout.db"


def test_demo_profile_and_explicit_override(monkeypatch):
    monkeypatch.setenv("ROLLOUT_PROFILE", "demo")
    monkeypatch.setenv("ROLLOUT_WARN_REPEAT_SECONDS", "7")
    s = load_settings(RolloutSettings)
    assert s.soak_seconds == [5, 5, 5, 5]
    assert s.late_onset_scale_seconds == 60 and s.alpha == 0.001  # same budget in the demo
    assert s.warn_repeat_seconds == 7


def test_lists_from_env_in_either_form(monkeypatch):
    monkeypatch.setenv("ROLLOUT_STAGES", "[20, 100]")
    monkeypatch.setenv("ROLLOUT_SOAK_SECONDS", "60")
    s = load_settings(RolloutSettings)
    assert (s.stages, s.soak_seconds) == ([20, 100], [60])


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ROLLOUT_STAGES": "10,5,100", "ROLLOUT_SOAK_SECONDS": "1,1"}, "ROLLOUT_STAGES"),
        ({"ROLLOUT_STAGES": "5,50", "ROLLOUT_SOAK_SECONDS": "1"}, "ROLLOUT_STAGES"),
        ({"ROLLOUT_STAGES": "0,100", "ROLLOUT_SOAK_SECONDS": "1"}, "ROLLOUT_STAGES"),
        ({"ROLLOUT_SOAK_SECONDS": "1,2"}, "ROLLOUT_SOAK_SECONDS"),
        ({"ROLLOUT_STORE_URL": "postgres://localhost:5432/x"}, "ROLLOUT_STORE_URL"),
        ({"ROLLOUT_STORE_URL": "redis://localhost:6379/zero"}, "ROLLOUT_STORE_URL"),
        ({"ROLLOUT_STORE_PREFIX": "has space"}, "ROLLOUT_STORE_PREFIX"),
        ({"ROLLOUT_STORE_COMMAND_TIMEOUT_SECONDS": "0"}, "ROLLOUT_STORE_COMMAND_TIMEOUT_SECONDS"),
        ({"ROLLOUT_STORE_CONNECT_TIMEOUT_SECONDS": "31"}, "ROLLOUT_STORE_CONNECT_TIMEOUT_SECONDS"),
        ({"ROLLOUT_STORE_TLS_CA_FILE": "/no/such/ca.pem"}, "ROLLOUT_STORE_TLS_CA_FILE"),
        ({"ROLLOUT_STORE_URL": "ion.db"}, "ROLLOUT_STORE_URL"),
        ({"ROLLOUT_BREACH_ERROR_RATE": "1.5"}, "ROLLOUT_BREACH_ERROR_RATE"),
        ({"ROLLOUT_ALPHA": "0"}, "ROLLOUT_ALPHA"),
        ({"ROLLOUT_TOLERANCE": "1"}, "ROLLOUT_TOLERANCE"),
        ({"ROLLOUT_ERROR_WINDOW_SECONDS": "0"}, "ROLLOUT_ERROR_WINDOW_SECONDS"),
        ({"ROLLOUT_POLL_INTERVAL_SECONDS": "2"}, "ROLLOUT_POLL_INTERVAL_SECONDS"),
        ({"ROLLOUT_BREACH_ACTION": "panic"}, "ROLLOUT_BREACH_ACTION"),
        ({"ROLLOUT_SHARED_BREACH_ACTION": "panic"}, "ROLLOUT_SHARED_BREACH_ACTION"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, env, names):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=names):
        load_settings(RolloutSettings)


def test_absolute_sqlite_path():
    s = load_settings(RolloutSettings, store_url="sqlite:////tmp/x/ion.db")
    assert s.sqlite_path == "/tmp/x/ion.db"


def test_a_retired_setting_warns_at_start_up_instead_of_being_ignored(monkeypatch, capsys):
    monkeypatch.setenv("ROLLOUT_MIN_SAMPLES", "50")
    monkeypatch.setenv("ROLLOUT_CHECK_INTERVAL_SECONDS", "5")
    settings = load_settings(RolloutSettings)
    err = capsys.readouterr().err
    assert "warning: ROLLOUT_MIN_SAMPLES no longer has any effect" in err
    assert "ROLLOUT_CHECK_INTERVAL_SECONDS no longer has any effect" in err
    assert "ROLLOUT_FLUSH_INTERVAL_SECONDS" in err  # says what replaced it
    assert settings.alpha == 0.001  # nothing else changes


def test_store_options_are_made_in_one_place_for_every_store():
    settings = RolloutSettings(
        store_prefix="team-a:", store_command_timeout_seconds=1.5, soak_seconds=[10, 20, 30, 40]
    )
    options = settings.store_options(0.25)
    assert options == {
        "wait_seconds": 0.25,
        "prefix": "team-a:",
        "connect_timeout_seconds": 2.0,
        "command_timeout_seconds": 1.5,
        "tls_ca_file": None,
        # longest guard window (600 s) + retention (2 h) + the whole plan's soaks
        "aggregate_ttl_seconds": 600 + 7200 + 100,
        # an applied batch id outlives the buffer bound (900 s) by an hour
        "batch_ttl_seconds": 900 + 3600,
    }

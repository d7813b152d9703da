"""deploy/settings.py: a bad value names its DEPLOY_* variable; the cross-field rules."""

from __future__ import annotations

import pytest

from common.settings import SettingsError, load_settings
from deploy.settings import DeploySettings, load_deploy_settings
from deploy.spec import desired_spec

pytestmark = pytest.mark.usefixtures("isolated_google_env")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEPLOY_PROJECT": "x!"}, "DEPLOY_PROJECT"),
        ({"DEPLOY_CONCURRENCY": "0"}, "DEPLOY_CONCURRENCY"),
        ({"DEPLOY_CANARY_MIN_INSTANCES": "-1"}, "DEPLOY_CANARY_MIN_INSTANCES"),
        ({"DEPLOY_GATEWAY_ENV": "not json"}, "DEPLOY_GATEWAY_ENV"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=named):
        load_deploy_settings()


def test_min_above_max_is_refused() -> None:
    with pytest.raises(SettingsError, match="legacy_min_instances 3 > legacy_max_instances 2"):
        load_settings(DeploySettings, legacy_min_instances=3, legacy_max_instances=2)


def test_dict_env_parses_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_CANARY_ENV", '{"CANARY_FAULT_ERROR_RATE": "0"}')
    assert load_settings(DeploySettings).canary_env == {"CANARY_FAULT_ERROR_RATE": "0"}


def test_more_than_one_gateway_needs_a_shared_rollout_store() -> None:
    with pytest.raises(SettingsError, match="gateway runs as one instance"):
        load_settings(DeploySettings, gateway_max_instances=3)
    with pytest.raises(SettingsError, match="shared rollout store"):
        load_settings(
            DeploySettings,
            gateway_max_instances=2,
            gateway_env={"ROLLOUT_STORE_URL": "sqlite:///tmp/r.db"},
        )
    shared = load_settings(
        DeploySettings, gateway_max_instances=3, gateway_env={"ROLLOUT_STORE_URL": "redis://r:6379"}
    )
    assert desired_spec(shared, "gateway").max_instances == 3

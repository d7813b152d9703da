"""deploy/settings.py: a bad value names its DEPLOY_* variable; the cross-field rules."""

from __future__ import annotations

import json

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


PASSWORD = "s3cr3t-Pa55"
SECRET = "projects/ion-test-project/secrets/ion-rollout-store-url/versions/2"
CONNECTOR = "redis-connector"
HOST = "projects/ion-host-project"  # a Shared VPC host project


@pytest.mark.parametrize(
    "gateway_env",
    [{}, {"ROLLOUT_STORE_URL": "sqlite:///tmp/r.db"}],
    ids=["the default store", "an explicit SQLite file"],
)
def test_more_than_one_gateway_on_sqlite_is_refused_saying_how_to_use_redis(gateway_env) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(DeploySettings, gateway_max_instances=3, gateway_env=gateway_env)
    message = str(caught.value)
    assert "DEPLOY_GATEWAY_MAX_INSTANCES=3 needs a shared rollout store" in message
    assert "in-memory filesystem" in message
    assert "DEPLOY_GATEWAY_STORE_URL_SECRET" in message
    assert "DEPLOY_GATEWAY_VPC_CONNECTOR" in message


@pytest.mark.parametrize(
    "overrides",
    [
        # the URL (with its password) in Secret Manager, Memorystore through a connector
        {"gateway_store_url_secret": SECRET, "gateway_vpc_connector": CONNECTOR},
        # a Redis without AUTH as plain env, through Direct VPC egress
        {
            "gateway_env": {"ROLLOUT_STORE_URL": "redis://10.0.0.3:6379/0"},
            "gateway_vpc_network": "default",
            "gateway_vpc_subnetwork": "redis-subnet",
        },
        # a Redis reachable without a VPC, said so explicitly
        {"gateway_store_url_secret": "ion-rollout-store-url", "gateway_store_without_vpc": True},
    ],
    ids=["secret + connector", "plain redis:// + direct VPC egress", "secret, no VPC (opted out)"],
)
def test_a_redis_store_allows_many_gateways(overrides: dict) -> None:
    shared = load_settings(DeploySettings, gateway_max_instances=8, **overrides)
    assert desired_spec(shared, "gateway").max_instances == 8


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"gateway_env": {"ROLLOUT_STORE_URL": f"redis://:{PASSWORD}@10.0.0.3:6379/0"}},
            "carries credentials, and a plain env value is readable by anyone who can view the "
            "service: store the URL in Secret Manager and name the secret in "
            "DEPLOY_GATEWAY_STORE_URL_SECRET",
        ),
        (
            {
                "gateway_store_url_secret": SECRET,
                "gateway_vpc_connector": CONNECTOR,
                "gateway_env": {"ROLLOUT_STORE_URL": "redis://10.0.0.3:6379/0"},
            },
            "DEPLOY_GATEWAY_STORE_URL_SECRET and DEPLOY_GATEWAY_ENV's ROLLOUT_STORE_URL are both "
            "set",
        ),
        (
            {"gateway_env": {"ROLLOUT_STORE_URL": "memcached://10.0.0.3"}},
            "is an unsupported store scheme",
        ),
        (
            {
                "gateway_store_url_secret": SECRET,
                "gateway_vpc_connector": CONNECTOR,
                "gateway_vpc_network": "default",
            },
            "DEPLOY_GATEWAY_VPC_CONNECTOR (Serverless VPC Access) and "
            "DEPLOY_GATEWAY_VPC_NETWORK/_SUBNETWORK (Direct VPC egress) are two ways into the "
            "VPC; set one",
        ),
        (
            {"gateway_vpc_subnetwork": "redis-subnet", "gateway_vpc_connector": CONNECTOR},
            "are two ways into the VPC; set one",
        ),
        (
            {"gateway_store_url_secret": SECRET},
            "a Redis rollout store on Memorystore has only a private address: set "
            "DEPLOY_GATEWAY_VPC_CONNECTOR",
        ),
        (
            {"gateway_env": {"ROLLOUT_STORE_URL": "rediss://10.0.0.3:6378/0"}},
            "DEPLOY_GATEWAY_STORE_WITHOUT_VPC=true",
        ),
        ({"gateway_vpc_egress": "all-traffic"}, "DEPLOY_GATEWAY_VPC_EGRESS needs"),
        (
            {"gateway_store_without_vpc": True},
            "DEPLOY_GATEWAY_STORE_WITHOUT_VPC is about a Redis store, and none is set",
        ),
    ],
    ids=[
        "password in plain env",
        "secret and plain env",
        "unknown scheme",
        "connector and network",
        "connector and subnetwork",
        "redis secret, no VPC",
        "plain rediss://, no VPC",
        "egress without a VPC",
        "no-VPC opt-out without Redis",
    ],
)
def test_store_and_vpc_refusals(overrides: dict, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(DeploySettings, **overrides)
    assert message in str(caught.value)
    assert PASSWORD.lower() not in str(caught.value).lower()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEPLOY_GATEWAY_STORE_URL_SECRET": "redis://10.0.0.3:6379/0"}, "must be a secret name"),
        ({"DEPLOY_GATEWAY_STORE_URL_SECRET": "projects/p/secrets/s"}, "must be a secret name"),
        ({"DEPLOY_GATEWAY_VPC_CONNECTOR": "My_Connector"}, "must be a connector name"),
        (
            {"DEPLOY_GATEWAY_VPC_CONNECTOR": f"{HOST}/locations/europe-west1/connectors/c"},
            "is in region europe-west1, but the service runs in us-central1",
        ),
        (
            {
                "DEPLOY_REGION": "europe-west1",
                "DEPLOY_GATEWAY_VPC_SUBNETWORK": f"{HOST}/regions/us-central1/subnetworks/s",
            },
            "is in region us-central1, but the service runs in europe-west1",
        ),
        ({"DEPLOY_GATEWAY_VPC_NETWORK": "10.0.0.0/8"}, "must be a network name"),
        ({"DEPLOY_GATEWAY_VPC_EGRESS": "everything"}, "'private-ranges-only' or 'all-traffic'"),
    ],
)
def test_bad_store_and_vpc_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    variable = next(key for key in env if key != "DEPLOY_REGION")
    with pytest.raises(SettingsError, match=f"{variable}: .*{named}"):
        load_deploy_settings()


def test_the_password_in_a_refused_env_var_is_never_shown(monkeypatch, capsys) -> None:
    url = f"redis://default:{PASSWORD}@10.0.0.3:6379/0"
    monkeypatch.setenv("DEPLOY_GATEWAY_ENV", json.dumps({"ROLLOUT_STORE_URL": url}))
    monkeypatch.setenv("DEPLOY_GATEWAY_MAX_INSTANCES", "4")
    with pytest.raises(SettingsError) as caught:
        load_deploy_settings()
    assert "DEPLOY_GATEWAY_STORE_URL_SECRET" in str(caught.value)
    shown = str(caught.value) + repr(caught.value) + "".join(capsys.readouterr())
    assert PASSWORD not in shown

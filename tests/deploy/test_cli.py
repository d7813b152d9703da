"""`ion-deploy` end to end: argparse, settings, ADC, the real client, the fake API on loopback."""

from __future__ import annotations

import json

import pytest

from deploy.cli import build_parser, main
from tests.deploy.conftest import PROJECT

pytestmark = pytest.mark.usefixtures("isolated_google_env")


@pytest.fixture
def args(settings) -> list[str]:
    return [
        "--project",
        PROJECT,
        "--api-endpoint",
        settings.api_endpoint,
        "--registry",
        "r.example/ion",
    ]


def test_plan_apply_plan_status(args, adc_file, fake, capsys) -> None:
    assert main([*args, "plan"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("Plan: 3 to create, 0 to update.")

    assert main([*args, "apply"]) == 0
    out = capsys.readouterr().out
    assert "  ion-gateway: https://ion-gateway-fake-uc.a.run.app" in out
    assert out.index("+ create ion-api ...") < out.index("+ create ion-gateway ...")

    assert main([*args, "plan"]) == 0
    assert capsys.readouterr().out.startswith("No changes.")

    assert main([*args, "status"]) == 0
    assert "ion-api-canary [canary] CONDITION_SUCCEEDED" in capsys.readouterr().out
    assert all(auth.startswith("Bearer ") for auth in fake.authorizations)


@pytest.mark.parametrize(
    "where",
    ["after", "split", "both"],
    ids=["all after the command", "some before, some after", "before and again after"],
)
def test_global_options_are_accepted_on_either_side_of_the_command(
    where, args, adc_file, fake, capsys
) -> None:
    assert main([*args, "apply"]) == 0
    capsys.readouterr()
    argv = {
        "after": ["status", *args],
        "split": [*args[:2], "status", *args[2:]],
        "both": ["--project", "overridden-later", "status", *args],
    }[where]
    assert main(argv) == 0
    assert "ion-api-canary [canary] CONDITION_SUCCEEDED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected", "why"),
    [
        (["--region", "a", "plan"], "a", "before the command, as before"),
        (["plan", "--region", "b"], "b", "after the command, as gcloud takes it"),
        (["--region", "a", "plan", "--region", "b"], "b", "the later one wins, as in a shell"),
        (["plan"], None, "not given: left out, so DEPLOY_REGION decides"),
    ],
)
def test_where_a_global_option_was_given_decides_nothing_but_order(argv, expected, why) -> None:
    args = build_parser().parse_args(argv)
    assert getattr(args, "region", None) == expected, why


def test_a_new_image_tag_plans_updates(args, adc_file, capsys) -> None:
    assert main([*args, "apply"]) == 0
    capsys.readouterr()
    assert main(["--image-tag", "v2", *args, "plan"]) == 0
    out = capsys.readouterr().out
    assert "    image: r.example/ion/canary:latest -> r.example/ion/canary:v2" in out
    assert out.rstrip().endswith("Plan: 0 to create, 3 to update.")


def test_no_credentials_exit_2_and_say_how_to_log_in(args, fake, capsys) -> None:
    assert main([*args, "plan"]) == 2
    err = capsys.readouterr().err
    assert "gcloud auth application-default login" in err
    assert "GOOGLE_APPLICATION_CREDENTIALS" in err
    assert fake.calls == []


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({}, ["plan"], "missing settings: DEPLOY_PROJECT"),
        ({}, ["status"], "missing settings: DEPLOY_PROJECT"),
        ({"DEPLOY_PROJECT": "no"}, ["plan"], "DEPLOY_PROJECT: Value error"),
        (
            {"DEPLOY_PROJECT": PROJECT, "DEPLOY_LEGACY_ENV": "{"},
            ["plan"],
            "DEPLOY_LEGACY_ENV: not valid JSON",
        ),
        (
            {"DEPLOY_PROJECT": PROJECT, "DEPLOY_TIMEOUT_SECONDS": "9999"},
            ["apply"],
            "DEPLOY_TIMEOUT_SECONDS",
        ),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(
    monkeypatch, capsys, env, argv, message
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_api_failures_exit_1_with_the_reason(args, adc_file, fake, capsys) -> None:
    fake.deny = True
    assert main([*args, "apply"]) == 1
    assert "(FORBIDDEN): Permission 'run.services.get' denied" in capsys.readouterr().err


def test_a_failed_deployment_exits_1(args, adc_file, fake, capsys) -> None:
    fake.fail_operations = "Revision 'ion-api-00001-abc' is not ready and cannot serve traffic."
    assert main([*args, "apply"]) == 1
    err = capsys.readouterr().err
    assert "creating service ion-api failed (INVALID_ARGUMENT): Revision" in err
    writes = [(method, path) for method, path in fake.calls if method in {"POST", "PATCH"}]
    assert len(writes) == 1, "stops at the first failure"


VIEWER_TOKEN = "viewer-tok-5b1e0c"
WEBHOOK = "https://hooks.slack.com/services/T000/B000/XYZsecretXYZ"
PASSWORD = "s3cr3t-Pa55"


def test_many_gateways_on_memorystore_plan_apply_status_show_no_secret(
    args, adc_file, fake, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DEPLOY_GATEWAY_MAX_INSTANCES", "5")
    monkeypatch.setenv("DEPLOY_GATEWAY_STORE_URL_SECRET", "ion-rollout-store-url")
    monkeypatch.setenv("DEPLOY_GATEWAY_VPC_CONNECTOR", "redis-connector")
    extra = {"GATEWAY_VIEWER_TOKEN": VIEWER_TOKEN, "ROLLOUT_WEBHOOK_URL": WEBHOOK}
    monkeypatch.setenv("DEPLOY_GATEWAY_ENV", json.dumps(extra))
    logs = ["--log-level", "DEBUG"]

    assert main([*args, *logs, "plan"]) == 0
    plan = capsys.readouterr()
    lines = plan.out.splitlines()
    assert "    env.ROLLOUT_STORE_URL: secret:ion-rollout-store-url:latest" in lines
    assert "    max_instances: 5" in lines
    assert (
        "    vpc.connector: projects/ion-test-project/locations/us-central1/connectors/"
        "redis-connector"
    ) in lines
    assert "    vpc.egress: private-ranges-only" in lines
    assert f"    env.GATEWAY_VIEWER_TOKEN: *** ({len(VIEWER_TOKEN)} chars)" in lines
    assert f"    env.ROLLOUT_WEBHOOK_URL: *** ({len(WEBHOOK)} chars)" in lines

    assert main([*args, *logs, "apply"]) == 0
    apply = capsys.readouterr()
    assert main([*args, *logs, "plan"]) == 0
    again = capsys.readouterr()
    assert again.out.startswith("No changes.")
    assert main([*args, *logs, "status"]) == 0
    status = capsys.readouterr()

    shown = "".join(stream for result in (plan, apply, again, status) for stream in result)
    assert VIEWER_TOKEN not in shown
    assert WEBHOOK not in shown
    assert "XYZsecretXYZ" not in shown
    gateway = fake.services[f"projects/{PROJECT}/locations/us-central1/services/ion-gateway"]
    assert gateway["template"]["scaling"]["maxInstanceCount"] == 5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "DEPLOY_GATEWAY_MAX_INSTANCES": "3",
                "DEPLOY_GATEWAY_ENV": json.dumps(
                    {"ROLLOUT_STORE_URL": f"redis://default:{PASSWORD}@10.0.0.3:6379/0"}
                ),
                "DEPLOY_GATEWAY_VPC_CONNECTOR": "redis-connector",
            },
            "name the secret in DEPLOY_GATEWAY_STORE_URL_SECRET",
        ),
        (
            {"DEPLOY_GATEWAY_MAX_INSTANCES": "3"},
            "DEPLOY_GATEWAY_MAX_INSTANCES=3 needs a shared rollout store",
        ),
        (
            {
                "DEPLOY_GATEWAY_STORE_URL_SECRET": "ion-rollout-store-url",
                "DEPLOY_GATEWAY_VPC_CONNECTOR": "redis-connector",
                "DEPLOY_GATEWAY_VPC_SUBNETWORK": "redis-subnet",
            },
            "are two ways into the VPC; set one",
        ),
        (
            {"DEPLOY_GATEWAY_VPC_CONNECTOR": "Redis Connector"},
            "DEPLOY_GATEWAY_VPC_CONNECTOR: Value error, must be a connector name",
        ),
    ],
    ids=["password in plain env", "sqlite, 3 gateways", "connector and subnetwork", "bad name"],
)
def test_store_and_vpc_mistakes_exit_2_before_any_call(
    args, adc_file, fake, monkeypatch, capsys, env, message
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([*args, "plan"]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert PASSWORD not in out + err
    assert fake.calls == []

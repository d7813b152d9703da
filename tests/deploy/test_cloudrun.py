"""The real `run_v2.ServicesClient` (REST transport) against the fake Admin API on loopback."""

from __future__ import annotations

from dataclasses import replace

import pytest
from google.auth.credentials import AnonymousCredentials

from deploy import actions
from deploy.cloudrun import CloudRun, DeployError, make_client
from deploy.spec import PENDING_URL, VpcSpec, desired_spec, desired_specs
from tests.deploy.fake_cloudrun import FakeCloudRun

pytestmark = pytest.mark.usefixtures("isolated_google_env")


def quiet(_line: str) -> None:
    """`echo` for apply when the test does not read its progress lines."""


def test_plan_for_a_fresh_project_is_three_creates(settings, cloud, fake) -> None:
    changes = actions.plan_changes(settings, cloud)
    assert [(c.action, c.spec.name) for c in changes] == [
        ("create", "ion-api"),
        ("create", "ion-api-canary"),
        ("create", "ion-gateway"),
    ]
    gateway_env = {f.field: f.new for f in changes[2].fields}
    assert gateway_env["env.GATEWAY_LEGACY_URL"] == PENDING_URL
    assert all(method == "GET" for method, _ in fake.calls), "plan must only read"


def test_apply_then_plan_again_is_empty(settings, cloud, fake) -> None:
    deployed = actions.apply(settings, cloud, quiet)
    assert {role: seen.uri for role, seen in deployed.items()} == {
        "legacy": "https://ion-api-fake-uc.a.run.app",
        "canary": "https://ion-api-canary-fake-uc.a.run.app",
        "gateway": "https://ion-gateway-fake-uc.a.run.app",
    }
    assert deployed["gateway"].spec.env_dict()["GATEWAY_CANARY_URL"] == deployed["canary"].uri
    assert actions.plan_changes(settings, cloud) == []


def test_the_request_body_is_what_cloud_run_expects(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    body = fake.services[f"{settings.location}/services/ion-api-canary"]
    container = body["template"]["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert body["template"]["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 5}
    assert body["template"]["maxInstanceRequestConcurrency"] == 80
    assert body["template"]["timeout"] == "300s"
    secret = {e["name"]: e for e in container["env"]}["CANARY_GEMINI_API_KEY"]
    assert secret == {
        "name": "CANARY_GEMINI_API_KEY",
        "valueSource": {"secretKeyRef": {"secret": "ion-gemini-api-key", "version": "latest"}},
    }


def test_a_changed_image_is_one_patch(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    fake.calls.clear()
    newer = settings.model_copy(update={"image_tag": "v2"})
    changes = actions.plan_changes(newer, cloud)
    assert [(c.action, c.spec.name, [f.field for f in c.fields]) for c in changes] == [
        ("update", "ion-api", ["image"]),
        ("update", "ion-api-canary", ["image"]),
        ("update", "ion-gateway", ["image"]),
    ]
    lines: list[str] = []
    deployed = actions.apply(newer, cloud, lines.append)
    assert [m for m, _ in fake.calls].count("PATCH") == 3
    assert "POST" not in [m for m, _ in fake.calls]
    assert deployed["legacy"].latest_ready_revision == "ion-api-00002-abc"
    assert "~ update ion-api ..." in lines


def test_unchanged_services_are_left_alone(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    fake.calls.clear()
    lines: list[str] = []
    actions.apply(settings, cloud, lines.append)
    assert {m for m, _ in fake.calls} == {"GET"}
    assert lines == [f"= {n}: up to date" for n in ("ion-api", "ion-api-canary", "ion-gateway")]


def test_operations_are_polled_until_done(settings, cloud, fake) -> None:
    fake.done_after_polls = 3
    seen = cloud.create(desired_spec(settings, "legacy"))
    assert seen.ready == "CONDITION_SUCCEEDED"
    assert sum(1 for _, path in fake.calls if "/operations/" in path) == 3


def test_a_failed_operation_says_what_failed(settings, cloud, fake) -> None:
    fake.fail_operations = "Image 'x/legacy:latest' not found."
    with pytest.raises(DeployError) as caught:
        cloud.create(desired_spec(settings, "legacy"))
    assert str(caught.value) == (
        "creating service ion-api failed (INVALID_ARGUMENT): Image 'x/legacy:latest' not found."
    )
    assert cloud.get("ion-api").ready == "CONDITION_FAILED"


def test_permission_denied_names_the_roles_needed(settings, cloud, fake) -> None:
    fake.deny = True
    with pytest.raises(DeployError) as caught:
        actions.plan_changes(settings, cloud)
    message = str(caught.value)
    assert message.startswith("reading service ion-api failed (FORBIDDEN): Permission")
    assert "roles/run.admin" in message
    assert "roles/iam.serviceAccountUser" in message


def test_a_wrong_project_is_not_found_with_a_hint(settings, fake_url) -> None:
    wrong = settings.model_copy(update={"project": "ion-wrong-project"})
    cloud = CloudRun(make_client(wrong, AnonymousCredentials()), wrong.location)
    assert cloud.get("ion-api") is None, "a missing service is an answer, not an error"
    with pytest.raises(
        DeployError, match=r"listing services .* failed \(NOT_FOUND\).*DEPLOY_PROJECT"
    ):
        cloud.list()
    with pytest.raises(DeployError, match="creating service ion-api failed"):
        cloud.create(desired_spec(wrong, "legacy"))


def test_status_lists_revisions_conditions_and_urls(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    fake.fail_operations = "Revision 'ion-api-00002-abc' is not ready."
    with pytest.raises(DeployError):
        cloud.update(replace(desired_spec(settings, "legacy"), image="broken"))
    text = actions.render_status(cloud.list())
    assert "ion-api [legacy] CONDITION_FAILED" in text
    assert "    message: Revision 'ion-api-00002-abc' is not ready." in text
    assert "ion-gateway [gateway] CONDITION_SUCCEEDED" in text
    assert "    url: https://ion-gateway-fake-uc.a.run.app" in text
    assert "    latest ready revision: ion-gateway-00001-abc" in text


def test_delete_removes_the_service(settings, cloud, fake: FakeCloudRun) -> None:
    for spec in desired_specs(settings):
        cloud.create(spec)
    cloud.delete("ion-api-canary")
    assert cloud.get("ion-api-canary") is None
    with pytest.raises(DeployError, match="deleting service ion-api-canary failed \\(NOT_FOUND\\)"):
        cloud.delete("ion-api-canary")


def gateway_body(fake: FakeCloudRun, settings) -> dict:
    return fake.services[f"{settings.location}/services/ion-gateway"]


def test_the_gateway_is_deployed_with_the_prometheus_sidecar(settings, cloud, fake) -> None:
    gateway = actions.plan_changes(settings, cloud)[2]
    rows = {f.field: f.new for f in gateway.fields}
    assert rows["sidecar.gmp-collector.image"] == settings.gmp_sidecar_image
    assert rows["sidecar.gmp-collector.depends_on"] == "gateway"
    actions.apply(settings, cloud, quiet)
    containers = gateway_body(fake, settings)["template"]["containers"]
    assert [(c["name"], c.get("dependsOn"), "ports" in c) for c in containers] == [
        ("gateway", None, True),
        ("gmp-collector", ["gateway"], False),
    ]
    assert containers[1]["image"].startswith(
        "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:"
    )
    legacy = fake.services[f"{settings.location}/services/ion-api"]
    assert len(legacy["template"]["containers"]) == 1, "only the gateway gets the collector"
    assert actions.plan_changes(settings, cloud) == []


def test_turning_the_sidecar_off_is_one_patch(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    off = settings.model_copy(update={"gmp_sidecar": False})
    changes = actions.plan_changes(off, cloud)
    assert [(c.action, c.spec.name) for c in changes] == [("update", "ion-gateway")]
    assert {(f.field, f.new) for f in changes[0].fields} == {
        ("sidecar.gmp-collector.image", "(unset)"),
        ("sidecar.gmp-collector.depends_on", "(unset)"),
    }
    fake.calls.clear()
    actions.apply(off, cloud, quiet)
    assert [m for m, _ in fake.calls if m != "GET"] == ["PATCH"]
    assert [c["name"] for c in gateway_body(fake, settings)["template"]["containers"]] == [
        "gateway"
    ]
    assert actions.plan_changes(off, cloud) == []


def test_a_runmonitoring_secret_is_mounted_where_the_sidecar_reads_it(
    settings, cloud, fake
) -> None:
    actions.apply(settings, cloud, quiet)
    custom = settings.model_copy(update={"gmp_config_secret": "ion-gmp-config"})
    [change] = actions.plan_changes(custom, cloud)
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("sidecar.gmp-collector.config", None, "secret:ion-gmp-config:latest -> /etc/rungmp")
    ]
    actions.apply(custom, cloud, quiet)
    template = gateway_body(fake, settings)["template"]
    assert template["volumes"] == [
        {
            "name": "gmp-collector-config",
            "secret": {
                "secret": "ion-gmp-config",
                "items": [{"path": "config.yaml", "version": "latest"}],
            },
        }
    ]
    assert template["containers"][1]["volumeMounts"] == [
        {"name": "gmp-collector-config", "mountPath": "/etc/rungmp"}
    ]
    assert actions.plan_changes(custom, cloud) == []


def test_a_template_cloud_run_rejects_says_why(settings, cloud, fake) -> None:
    spec = desired_spec(settings, "gateway")
    broken = replace(spec, sidecars=(replace(spec.sidecars[0], depends_on=("app",)),))
    with pytest.raises(DeployError) as caught:
        cloud.create(broken)
    assert str(caught.value) == (
        "creating service ion-gateway failed (BAD_REQUEST): "
        "container 'gmp-collector' refers to unknown ['app']."
    )


REDIS = {
    "gateway_store_url_secret": "projects/ion-test-project/secrets/ion-rollout-store-url",
    "gateway_max_instances": 6,
}
PRIVATE_RANGES_ONLY = 2  # VpcAccess.VpcEgress, as the REST transport sends it (an integer)
ALL_TRAFFIC = 1


def env_of(body: dict) -> dict[str, dict]:
    return {e["name"]: e for e in body["template"]["containers"][0]["env"]}


def test_a_redis_store_through_a_connector_is_planned_and_applied(settings, cloud, fake) -> None:
    actions.apply(settings, cloud, quiet)
    redis = settings.model_copy(update={**REDIS, "gateway_vpc_connector": "redis-connector"})
    [change] = actions.plan_changes(redis, cloud)
    connector = "projects/ion-test-project/locations/us-central1/connectors/redis-connector"
    assert [(change.spec.name, f.field, f.old, f.new) for f in change.fields] == [
        ("ion-gateway", "env.ROLLOUT_STORE_URL", None, "secret:ion-rollout-store-url:latest"),
        ("ion-gateway", "max_instances", "1", "6"),
        ("ion-gateway", "vpc.connector", None, connector),
        ("ion-gateway", "vpc.egress", None, "private-ranges-only"),
    ]
    fake.calls.clear()
    actions.apply(redis, cloud, quiet)
    assert [m for m, _ in fake.calls if m != "GET"] == ["PATCH"]
    body = gateway_body(fake, settings)
    assert body["template"]["vpcAccess"] == {"connector": connector, "egress": PRIVATE_RANGES_ONLY}
    assert body["template"]["scaling"]["maxInstanceCount"] == 6
    assert env_of(body)["ROLLOUT_STORE_URL"] == {
        "name": "ROLLOUT_STORE_URL",
        "valueSource": {"secretKeyRef": {"secret": "ion-rollout-store-url", "version": "latest"}},
    }
    for role in ("ion-api", "ion-api-canary"):
        upstream = fake.services[f"{settings.location}/services/{role}"]
        assert "vpcAccess" not in upstream["template"], "only the gateway talks to the store"
    assert actions.plan_changes(redis, cloud) == []


def test_direct_vpc_egress_and_switching_from_a_connector(settings, cloud, fake) -> None:
    connected = settings.model_copy(update={**REDIS, "gateway_vpc_connector": "redis-connector"})
    actions.apply(connected, cloud, quiet)
    direct = settings.model_copy(
        update={
            **REDIS,
            "gateway_vpc_network": "default",
            "gateway_vpc_subnetwork": "redis-subnet",
            "gateway_vpc_egress": "all-traffic",
        }
    )
    [change] = actions.plan_changes(direct, cloud)
    assert {f.field: f.new for f in change.fields} == {
        "vpc.connector": "(unset)",
        "vpc.network": "default",
        "vpc.subnetwork": "redis-subnet",
        "vpc.egress": "all-traffic",
    }
    actions.apply(direct, cloud, quiet)
    assert gateway_body(fake, settings)["template"]["vpcAccess"] == {
        "networkInterfaces": [{"network": "default", "subnetwork": "redis-subnet"}],
        "egress": ALL_TRAFFIC,
    }
    assert actions.plan_changes(direct, cloud) == []


def test_a_vpc_cloud_run_rejects_says_why(settings, cloud) -> None:
    spec = desired_spec(settings, "gateway")
    both = replace(spec, vpc=VpcSpec(connector="projects/p/locations/r/connectors/c", network="n"))
    with pytest.raises(DeployError, match="through a connector or Direct VPC egress, not both"):
        cloud.create(both)

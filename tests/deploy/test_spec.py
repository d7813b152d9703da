"""Desired state from settings: pure, so every rule is one table row."""

from __future__ import annotations

import pytest

from deploy.settings import GMP_SIDECAR_IMAGE, DeploySettings
from deploy.spec import (
    GMP_SIDECAR_NAME,
    PENDING_URL,
    SecretRef,
    VpcSpec,
    desired_spec,
    desired_specs,
    missing_inputs,
)

pytestmark = pytest.mark.usefixtures("isolated_google_env")

BASE = {"project": "ion-test-project", "region": "us-central1"}


@pytest.mark.parametrize(
    ("overrides", "role", "field", "expected"),
    [
        # images default to Artifact Registry in the project's region, one repo per project
        (
            {},
            "gateway",
            "image",
            "us-central1-docker.pkg.dev/ion-test-project/ion-canary/gateway:latest",
        ),
        (
            {"registry": "r.example/x", "image_tag": "abc123"},
            "canary",
            "image",
            "r.example/x/canary:abc123",
        ),
        (
            {"legacy_image": "r.example/legacy@sha256:1"},
            "legacy",
            "image",
            "r.example/legacy@sha256:1",
        ),
        # the original's Cloud Run sizing
        ({}, "legacy", "memory", "512Mi"),
        ({}, "canary", "cpu", "1"),
        ({}, "legacy", "concurrency", 80),
        ({}, "canary", "timeout_seconds", 300),
        ({}, "canary", "min_instances", 1),
        ({}, "canary", "max_instances", 5),
        ({}, "legacy", "max_instances", 10),
        # the gateway runs the rollout controller loop: CPU must stay allocated between requests
        ({}, "gateway", "cpu_idle", False),
        ({}, "legacy", "cpu_idle", True),
        # one runtime identity per service
        (
            {},
            "canary",
            "service_account",
            "ion-api-canary-runner@ion-test-project.iam.gserviceaccount.com",
        ),
        (
            {"gateway_service_account": "gw@x.iam.gserviceaccount.com"},
            "gateway",
            "service_account",
            "gw@x.iam.gserviceaccount.com",
        ),
        # the gateway has no /health of its own: everything but its own paths is proxied
        ({}, "gateway", "health_path", "/healthz"),
        ({}, "legacy", "health_path", "/health"),
        ({"gateway_service": "edge"}, "gateway", "name", "edge"),
    ],
)
def test_desired_spec_field(overrides: dict, role: str, field: str, expected: object) -> None:
    spec = desired_spec(DeploySettings(**BASE, **overrides), role)
    assert getattr(spec, field) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("gateway", (SecretRef("GATEWAY_ADMIN_TOKEN", "ion-gateway-admin-token"),)),
        ("legacy", ()),
        (
            "canary",
            (
                SecretRef("CANARY_ADMIN_TOKEN", "ion-canary-admin-token"),
                SecretRef("CANARY_GEMINI_API_KEY", "ion-gemini-api-key"),
            ),
        ),
    ],
)
def test_secrets_are_references_never_values(role: str, expected: tuple) -> None:
    assert desired_spec(DeploySettings(**BASE), role).secrets == expected


@pytest.mark.parametrize(
    ("overrides", "role", "expected"),
    [
        # the collector next to the gateway, started after it, with the sidecar's default config
        (
            {},
            "gateway",
            ((GMP_SIDECAR_NAME, GMP_SIDECAR_IMAGE, ("gateway",), None),),
        ),
        # the upstreams' own /metrics are not wired to Cloud Monitoring: no sidecar there
        ({}, "legacy", ()),
        ({}, "canary", ()),
        ({"gmp_sidecar": False}, "gateway", ()),
        (
            {"gmp_sidecar_image": "r.example/gmp:2", "gmp_config_secret": "gmp-cfg"},
            "gateway",
            (
                (
                    GMP_SIDECAR_NAME,
                    "r.example/gmp:2",
                    ("gateway",),
                    SecretRef("", "gmp-cfg", "latest"),
                ),
            ),
        ),
    ],
)
def test_sidecars(overrides: dict, role: str, expected: tuple) -> None:
    sidecars = desired_spec(DeploySettings(**BASE, **overrides), role).sidecars
    assert tuple((s.name, s.image, s.depends_on, s.config_secret) for s in sidecars) == expected


def test_an_empty_secret_name_leaves_the_variable_out() -> None:
    spec = desired_spec(DeploySettings(**BASE, gemini_api_key_secret=""), "canary")
    assert [ref.env for ref in spec.secrets] == ["CANARY_ADMIN_TOKEN"]


def test_gateway_env_carries_upstream_urls_or_a_placeholder() -> None:
    settings = DeploySettings(**BASE, gateway_env={"GATEWAY_LOG_LEVEL": "DEBUG"})
    pending = desired_spec(settings, "gateway").env_dict()
    known = desired_spec(settings, "gateway", {"legacy": "https://l", "canary": "https://c"})
    assert pending["GATEWAY_LEGACY_URL"] == PENDING_URL
    assert known.env_dict() == {
        "GATEWAY_CANARY_URL": "https://c",
        "GATEWAY_LEGACY_URL": "https://l",
        "GATEWAY_LOG_LEVEL": "DEBUG",
    }


def test_specs_come_in_apply_order_gateway_last() -> None:
    assert [s.role for s in desired_specs(DeploySettings(**BASE))] == [
        "legacy",
        "canary",
        "gateway",
    ]


def test_missing_inputs_name_the_variables() -> None:
    assert missing_inputs(DeploySettings()) == [
        "DEPLOY_PROJECT",
        "DEPLOY_LEGACY_IMAGE (or DEPLOY_REGISTRY)",
        "DEPLOY_CANARY_IMAGE (or DEPLOY_REGISTRY)",
        "DEPLOY_GATEWAY_IMAGE (or DEPLOY_REGISTRY)",
    ]
    assert missing_inputs(DeploySettings(**BASE)) == []


STORE = {"gateway_store_url_secret": "ion-rollout-store-url", "gateway_max_instances": 4}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # a bare name: same project, DEPLOY_SECRET_VERSION
        (
            {**STORE, "gateway_vpc_connector": "c1", "secret_version": "7"},
            SecretRef("ROLLOUT_STORE_URL", "ion-rollout-store-url", "7"),
        ),
        # the version in a full reference wins over DEPLOY_SECRET_VERSION
        (
            {
                **STORE,
                "gateway_store_url_secret": "projects/ion-shared-secrets/secrets/store/versions/2",
                "gateway_vpc_connector": "c1",
            },
            SecretRef("ROLLOUT_STORE_URL", "projects/ion-shared-secrets/secrets/store", "2"),
        ),
    ],
)
def test_the_store_url_is_a_secret_reference_on_the_gateway_only(overrides, expected) -> None:
    settings = DeploySettings(**BASE, **overrides)
    gateway = desired_spec(settings, "gateway")
    assert expected in gateway.secrets
    assert "ROLLOUT_STORE_URL" not in gateway.env_dict(), "never a plain value"
    for role in ("legacy", "canary"):
        assert "ROLLOUT_STORE_URL" not in {ref.env for ref in desired_spec(settings, role).secrets}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, None),
        (
            {**STORE, "gateway_vpc_connector": "redis-connector"},
            VpcSpec(
                connector="projects/ion-test-project/locations/us-central1/connectors/redis-connector"
            ),
        ),
        (
            {
                **STORE,
                "gateway_vpc_network": "projects/ion-host-project/global/networks/shared",
                "gateway_vpc_subnetwork": "redis-subnet",
                "gateway_vpc_egress": "all-traffic",
            },
            VpcSpec(
                network="projects/ion-host-project/global/networks/shared",
                subnetwork="redis-subnet",
                egress="all-traffic",
            ),
        ),
    ],
    ids=["no VPC", "connector, default egress", "direct VPC egress, all traffic"],
)
def test_only_the_gateway_gets_into_the_vpc(overrides, expected) -> None:
    settings = DeploySettings(**BASE, **overrides)
    assert desired_spec(settings, "gateway").vpc == expected
    assert desired_spec(settings, "legacy").vpc is None
    assert desired_spec(settings, "canary").vpc is None
